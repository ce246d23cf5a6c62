"""Settings of the test site: a small project with the shapes devdata must handle.

Each database vendor has two aliases: ``<vendor>`` plays production and
``<vendor>_dev`` the developer's database. ``default`` is the SQLite production one.
PostgreSQL is reached through ``DEVDATA_TEST_POSTGRES`` and MariaDB through
``DEVDATA_TEST_MARIADB`` (database URLs; by default servers on 127.0.0.1 and database
names unique to the test run). MariaDB is driven by PyMySQL, a pure-Python driver.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
import pymysql

# Django asks for mysqlclient; PyMySQL speaks the same DB-API once it says it is one.
pymysql.version_info = (2, 2, 1, "final", 0)
pymysql.install_as_MySQLdb()

SECRET_KEY = "devdata tests only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sites",
    "django.contrib.sessions",
    "devdata_core",
    "testsite.polls",
    "testsite.photofeed",
    "testsite.turtles",
    "testsite.library",
    "testsite.fidelity",
    "testsite.shop",
    "testsite.defaults",
    "testsite.audit",
    "testsite.pages",
    "testsite.newsroom",
    "testsite.contacts",
    "testsite.leaks",
    "testsite.crm",
]

_sqlite_dir = Path(os.environ.get("DEVDATA_TEST_SQLITE_DIR") or tempfile.mkdtemp(prefix="devdata-"))
os.environ["DEVDATA_TEST_SQLITE_DIR"] = str(_sqlite_dir)  # one directory for xdist workers too
# A name per test run, so that runs side by side do not share databases; subprocesses
# inherit it through the environment.
os.environ.setdefault(
    "DEVDATA_TEST_POSTGRES", f"postgres://postgres@127.0.0.1:5432/devdata_test_{os.getpid()}"
)
_postgres = dj_database_url.parse(os.environ["DEVDATA_TEST_POSTGRES"])
os.environ.setdefault(
    "DEVDATA_TEST_MARIADB", f"mysql://root@127.0.0.1:3306/devdata_test_{os.getpid()}"
)
_mariadb = dj_database_url.parse(os.environ["DEVDATA_TEST_MARIADB"])
_mariadb["OPTIONS"] = {"charset": "utf8mb4"}

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_sqlite_dir / "production.sqlite3"),
    },
    "sqlite_dev": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_sqlite_dir / "dev.sqlite3"),
    },
    "postgres": {**_postgres, "NAME": f"{_postgres['NAME']}_production"},
    "postgres_dev": {**_postgres, "NAME": f"{_postgres['NAME']}_dev"},
    "mariadb": {**_mariadb, "NAME": f"{_mariadb['NAME']}_production"},
    "mariadb_dev": {**_mariadb, "NAME": f"{_mariadb['NAME']}_dev"},
}

DEVDATA_DEFAULT_STRATEGY = ("devdata_queryset.QuerySetStrategy", {"name": "all"})
DEVDATA_STRATEGIES = {}
# The test site's users and customers are made up; tests/test_pii.py turns the check on.
SILENCED_SYSTEM_CHECKS = ["devdata.W001", "devdata.E001"]
