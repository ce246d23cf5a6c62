"""The databases of a third-party site project (Wagtail's, Oscar's): one pair per vendor,
``<vendor>`` playing production and ``<vendor>_dev`` the developer's database, named for
the site under the test run's own databases (``DEVDATA_TEST_*``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url


def site_databases(site: str) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every database the site ``site`` can use, and its ``DATABASES``.

    The site's data migrations (Wagtail's) and page serving use ``default`` whatever alias
    a command names, so each process gets the database it works on as ``default``, as
    production and a developer's machine each have theirs: the first of
    ``<SITE>SITE_DATABASES``. The others are there under their names, for a process that
    compares two databases.
    """
    sqlite_dir = Path(os.environ["DEVDATA_TEST_SQLITE_DIR"])
    postgres = dj_database_url.parse(os.environ["DEVDATA_TEST_POSTGRES"])
    mariadb = dj_database_url.parse(os.environ["DEVDATA_TEST_MARIADB"])
    mariadb["OPTIONS"] = {"charset": "utf8mb4"}
    every = {
        "sqlite": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(sqlite_dir / f"{site}-production.sqlite3"),
        },
        "sqlite_dev": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(sqlite_dir / f"{site}-dev.sqlite3"),
        },
    }
    for vendor, server in (("postgres", postgres), ("mariadb", mariadb)):
        every[vendor] = {**server, "NAME": f"{server['NAME']}_{site}"}
        every[f"{vendor}_dev"] = {**server, "NAME": f"{server['NAME']}_{site}_dev"}
    chosen = os.environ.get(f"{site.upper()}SITE_DATABASES", "sqlite").split(",")
    return every, {"default": every[chosen[0]], **{alias: every[alias] for alias in chosen[1:]}}


def media_root(site: str) -> str:
    return str(Path(os.environ["DEVDATA_TEST_SQLITE_DIR"]) / f"{site}-media")
