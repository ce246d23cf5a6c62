"""A project as a devdata user has it: its tests run against an export of production.

``FIXTUREPROJECT_DATABASE`` (a database URL) is production when ``manage.py
devdata_export`` runs, and the database whose test database pytest-django makes when
pytest runs; by default an SQLite file beside ``manage.py``.
"""

import os
from pathlib import Path

import dj_database_url
import pymysql

pymysql.version_info = (2, 2, 1, "final", 0)
pymysql.install_as_MySQLdb()

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "fixture project tests only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "devdata_core",
    "catalogue",
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("FIXTUREPROJECT_DATABASE", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"].endswith("mysql"):
    DATABASES["default"]["OPTIONS"] = {"charset": "utf8mb4"}

DEVDATA_DEFAULT_STRATEGY = ("devdata_queryset.QuerySetStrategy", {"name": "all"})
