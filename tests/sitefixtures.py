"""End-to-end test fixtures: every test that takes ``site`` (or ``vendor``) runs once per
database.

Loaded for the whole repository (``tests`` and ``plugins/*/tests``) by the root
``conftest.py``.

The ``site`` fixture hands a test a freshly flushed "production" database and an
export directory; the test fills production through the ORM, runs the real
``devdata_export`` / ``devdata_import`` commands and looks at what landed in the
dev database.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connections

from devdata_core import databases
from sitetools import Site

VENDORS = ("sqlite", "postgres", "mariadb")


def pytest_report_header(config: pytest.Config) -> str:
    """The PostgreSQL driver in use (Django prefers psycopg 3 to psycopg2), so that a CI
    log says what ran; pytest-django's header names Django's version."""
    driver = connections["postgres"].Database
    return f"PostgreSQL driver: {driver.__name__} {driver.__version__.split()[0]}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vendor" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("databases_only")
        vendors = marker.args if marker else VENDORS
        metafunc.parametrize("vendor", vendors)


@pytest.fixture(scope="session")
def _database_access(django_db_blocker):
    """The tests manage their own databases, so pytest-django's blocker steps aside."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def production_databases(_database_access):
    """Per vendor, ``None`` once its production database is migrated, or why it cannot be."""
    prepared: dict[str, str | None] = {}

    def prepare(vendor: str) -> str | None:
        if not prepared:
            # Every vendor's at once: from Django 6.1 the system checks of a command run
            # for one vendor connect to the others' MySQL databases too.
            prepared.update((each, _prepare(each)) for each in VENDORS)
        return prepared[vendor]

    yield prepare
    for alias in connections:
        connections[alias].close()
    for vendor, reason in prepared.items():
        if vendor != "sqlite" and reason is None:
            drop_database(vendor)
            drop_database(f"{vendor}_dev")


def drop_database(alias: str) -> None:
    """Drop a test run's database (delete its SQLite file), so runs leave nothing behind."""
    connection = connections[alias]
    connection.close()
    if connection.vendor == "sqlite":
        Path(connection.settings_dict["NAME"]).unlink(missing_ok=True)
        return
    name = databases.quote_identifier(connection, connection.settings_dict["NAME"])
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")


def unreachable(vendor: str) -> str | None:
    """Why ``vendor``'s database server cannot be reached, or ``None``; in CI, a failure."""
    if vendor == "sqlite":
        return None
    try:
        with connections[vendor]._nodb_cursor():
            pass
    except OperationalError as exc:
        reason = f"{vendor} is not reachable ({str(exc).strip().splitlines()[0]})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must test every database")
        return reason
    return None


def skip_without_server(vendor: str, reason: str | None) -> None:
    """Skip the test if ``reason`` says the vendor's server is out of reach (outside CI)."""
    if reason:
        pytest.skip(f"{reason}: start it, or point DEVDATA_TEST_{vendor.upper()} at one")


def _prepare(vendor: str) -> str | None:
    source = "default" if vendor == "sqlite" else vendor
    if reason := unreachable(vendor):
        return reason
    databases.recreate_database(source)
    call_command("migrate", database=source, verbosity=0, interactive=False)
    if vendor != "sqlite":
        databases.recreate_database(f"{vendor}_dev")  # for those checks too
    return None


@pytest.fixture
def site(vendor: str, production_databases, tmp_path, settings) -> Site:
    skip_without_server(vendor, production_databases(vendor))
    site = Site(vendor, tmp_path / "export", settings)
    site.flush_production()
    return site


@pytest.fixture
def intact(request: pytest.FixtureRequest):
    """After the test, its export and dev database reference only rows they hold.

    Use it for a whole module with ``pytestmark = pytest.mark.usefixtures("intact")``.
    """
    site = request.getfixturevalue("site") if "site" in request.fixturenames else None
    yield
    if site is not None:
        site.assert_intact()


#: Questions in the dev database of ``dev_with_old_rows``, by key, as work in dev left them.
OLD_DEV_QUESTIONS = {1: "Edited in dev", 2: "Prod two", 50: "Made in dev"}


def dev_questions(site: Site) -> dict[int, str]:
    from testsite.polls.models import Question

    return dict(Question.objects.using(site.dev).values_list("pk", "question_text"))


@pytest.fixture
def dev_with_old_rows(site: Site) -> Site:
    """Dev after an earlier import of production and some work, for tests that reset it.

    Production holds Questions 1 and 2 with Choices 10 and 20. In dev, Question 1 was
    edited, and Question 50 and Choice 51 (of Question 1) were added (``OLD_DEV_QUESTIONS``).
    """
    from testsite.polls.models import Choice, Question

    one, two = (
        Question.objects.using(site.src).create(
            pk=pk, question_text=text, pub_date=f"2024-01-0{pk}T12:00Z"
        )
        for pk, text in [(1, "Prod one"), (2, "Prod two")]
    )
    Choice.objects.using(site.src).create(pk=10, question=one, choice_text="Yes")
    Choice.objects.using(site.src).create(pk=20, question=two, choice_text="No")
    site.roundtrip()
    Question.objects.using(site.dev).filter(pk=1).update(question_text="Edited in dev")
    Question.objects.using(site.dev).create(
        pk=50, question_text="Made in dev", pub_date="2024-02-01T12:00Z"
    )
    Choice.objects.using(site.dev).create(pk=51, question_id=1, choice_text="Maybe")
    connections[site.dev].close()
    return site


#: How the message of a failed ``drop-database`` import ends: every vendor builds the new
#: database beside the old one, which a failure leaves as it was.
FAILED_IMPORT_LEAVES = "nothing was imported and the old database is unchanged"
