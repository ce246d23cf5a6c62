"""Exports as test fixtures: a project's own pytest suite runs against an export of its
production database, loaded by ``@pytest.mark.devdata_export``.

tests/fixtureproject is that project, with its own settings, manage.py and pytest.ini.
Each test copies it, fills its "production" database (``FIXTUREPROJECT_DATABASE``), exports
it with the real ``devdata_export`` and runs ``python -m pytest`` in it, as its developers
would; pytest-django makes the test database beside production on the same server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

from devdata_core import databases
from devdata_core.errors import DevdataError
from devdata_core.testing import load_export
from sitefixtures import skip_without_server, unreachable
from sitetools import Site
from testsite.polls.models import Question

FIXTURE_PROJECT = Path(__file__).parent / "fixtureproject"
#: Where the project's tests expect the export (tests/fixtureproject/tests/test_catalogue.py).
EXPORT = "tests/data/catalogue"
#: The tests of the project, all of which use the export.
PROJECT_TESTS = 6
#: What runs in the source tree leave in the project, not copied.
IGNORED = shutil.ignore_patterns("__pycache__", "*.sqlite3", ".pytest_cache")


class Project:
    """A copy of the fixture project, its production database on ``vendor``'s server."""

    def __init__(self, root: Path, vendor: str) -> None:
        self.root = root
        self.vendor = vendor
        if vendor == "sqlite":
            self.name = str(root / "production.sqlite3")
            self.url = f"sqlite:///{self.name}"
        else:
            self.name = f"{connections[vendor].settings_dict['NAME']}_fixtureproject"
            url = os.environ[f"DEVDATA_TEST_{vendor.upper()}"]
            self.url = urlsplit(url)._replace(path=f"/{self.name}").geturl()

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """Run Python in the project's directory, with its settings and nothing of ours."""
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env={**env, "FIXTUREPROJECT_DATABASE": self.url},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def manage(self, *args: str) -> None:
        result = self.run("manage.py", *args)
        assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stderr}"

    def pytest(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("-m", "pytest", "-q", "-p", "no:cacheprovider", *args)

    def create_database(self) -> None:
        """Create production (an empty one, after what a killed run left)."""
        self.drop_databases()
        self._on_server("CREATE DATABASE {}", self.name)

    def drop_databases(self) -> None:
        """Drop production and the test database a failed run may have left."""
        self._on_server("DROP DATABASE IF EXISTS {}", self.name)
        self._on_server("DROP DATABASE IF EXISTS {}", f"test_{self.name}")

    def _on_server(self, statement: str, database: str) -> None:
        if self.vendor == "sqlite":
            return
        connection = connections[self.vendor]
        with connection._nodb_cursor() as cursor:
            cursor.execute(statement.format(databases.quote_identifier(connection, database)))


@pytest.fixture
def project(vendor: str, tmp_path: Path, _database_access) -> Iterator[Project]:
    """The fixture project with production migrated, filled and exported to its tests/data."""
    skip_without_server(vendor, unreachable(vendor))
    root = shutil.copytree(FIXTURE_PROJECT, tmp_path / "project", ignore=IGNORED)
    project = Project(root, vendor)
    project.create_database()
    try:
        project.manage("migrate", "--verbosity=0")
        project.manage("loaddata", "seed.json")
        project.manage("devdata_export", EXPORT)
        yield project
    finally:
        project.drop_databases()


def test_the_projects_tests_run_against_its_export(project: Project):
    # Its tests check the exported rows, that each test's changes roll back (and that
    # serialized_rollback brings the export back after committing tests), and that new
    # rows get keys past the exported ones.
    assert_all_passed(project.pytest())


@pytest.mark.databases_only("sqlite")
def test_load_export_fills_the_test_database_from_the_projects_django_db_setup(project: Project):
    """The README's recipe for projects that fill the test database themselves."""
    tests = project.root / "tests"
    (tests / "conftest.py").write_text(
        "import pytest\n\n"
        "from devdata_core.testing import load_export\n\n\n"
        '@pytest.fixture(scope="session")\n'
        "def django_db_setup(django_db_setup, django_db_blocker):\n"
        "    with django_db_blocker.unblock():\n"
        f'        load_export("{EXPORT}")\n'
    )
    marked = f'pytest.mark.devdata_export("{EXPORT}")'
    edit(tests / "test_catalogue.py", marked, "pytest.mark.django_db")
    edit(tests / "test_transactional.py", f"    {marked},\n", "")
    assert_all_passed(project.pytest())


@pytest.mark.databases_only("sqlite")
def test_the_mark_loads_an_archive(project: Project):
    """What CI fetches from the nightly job: one .tar.zst file, loaded as a directory is."""
    archive = "tests/data/catalogue.tar.zst"
    project.manage("devdata_export", archive)
    shutil.rmtree(project.root / EXPORT)
    tests = project.root / "tests"
    for name in ("test_catalogue.py", "test_transactional.py"):
        edit(tests / name, f'devdata_export("{EXPORT}")', f'devdata_export("{archive}")')
    assert_all_passed(project.pytest())


@pytest.mark.databases_only("sqlite")
def test_a_changed_export_fails_each_test_with_one_line_and_loads_nothing(project: Project):
    data = project.root / EXPORT / "catalogue.Product" / "all.jsonl"
    data.write_text(data.read_text().replace("Mug", "Mog"))
    result = project.pytest("-rE")
    assert result.returncode == 1
    assert re.search(rf"^{PROJECT_TESTS} errors in ", result.stdout, re.MULTILINE), result.stdout
    assert (
        f"@pytest.mark.devdata_export: {data} was changed after the export (its SHA-256 "
        "differs from the manifest's): export again; nothing was changed"
    ) in result.stdout
    assert "Traceback" not in result.stdout
    assert "devdata_core" not in result.stdout  # no frames of devdata's code


def test_without_pytest_django_the_mark_says_what_to_install(tmp_path: Path):
    (tmp_path / "test_shop.py").write_text(
        "import pytest\n\n\n"
        '@pytest.mark.devdata_export("tests/data/shop")\n'
        "def test_shop():\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.strip() == (
        "ERROR: test_shop.py::test_shop: @pytest.mark.devdata_export loads into "
        "pytest-django's test database: pip install pytest-django"
    )


def test_load_export_refuses_a_database_that_is_not_a_test_database(site: Site):
    before = dev_state(site)
    Question.objects.using(site.src).create(question_text="Prod", pub_date="2024-01-01T12:00Z")
    site.export()
    with pytest.raises(DevdataError) as refused:
        load_export(site.export_dir, site.dev)
    assert str(refused.value) == (
        f"{databases.describe(site.dev)} (alias {site.dev!r}) is not a test database: load "
        "exports into the databases pytest-django sets up (mark the tests "
        "django_db(databases=[...]) with this alias); nothing was imported"
    )
    assert dev_state(site) == before


def assert_all_passed(result: subprocess.CompletedProcess) -> None:
    """Every test of the project passed: none skipped or deselected, nothing warned."""
    summary = rf"^{PROJECT_TESTS} passed in "
    assert re.search(summary, result.stdout, re.MULTILINE), result.stdout + result.stderr
    assert result.returncode == 0


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} lacks {old!r}"
    path.write_text(text.replace(old, new))


def dev_state(site: Site) -> tuple[list[str], set[int]]:
    """The dev database's tables, and its Questions if it has their table."""
    tables = connections[site.dev].introspection.table_names()
    return tables, site.pks(Question) if Question._meta.db_table in tables else set()
