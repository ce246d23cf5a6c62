"""A pytest plugin for devdata's users and plugin authors (loaded automatically with devdata-core).

Exports as test fixtures (needs pytest-django):

``@pytest.mark.devdata_export("tests/data/shop")``
    Loads the export (a path relative to pytest's rootdir) into pytest-django's test
    database once per session, before the first test, through the import devdata_import
    runs: the manifest and every value are verified, and everything loads in one
    transaction. Each test's own changes roll back as usual; tests that commit get the
    export back with ``serialized_rollback``. A marked test gets database access
    (``django_db``) unless it asks for it itself; ``database="other"`` loads into another
    alias.

``load_export(src, database="default")``
    The same load, for a project's own ``django_db_setup``.

For plugin authors:

``devdata_plugin``
    Registers a throwaway plugin for one test and unregisters it afterwards::

        def test_login_account_is_created(devdata_plugin):
            devdata_plugin(MyHooks())

Contract tests, to subclass in a plugin's own test suite with a fixture that
returns the object under test:

``ResetModeContract`` (fixture ``reset_mode``) and ``StrategyContract`` (fixture
``strategy``).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.creation import TEST_DATABASE_PREFIX

from . import databases, stores
from .errors import DevdataError
from .importing import run_import
from .plugins import get_plugin_manager, reset_modes, strategy_classes
from .reporting import Reporter, RunSummary
from .reset_modes import Reset
from .settings import load_settings
from .strategies import Exportable, Strategy

MARKER = "devdata_export"
#: pytest-django's fixtures that give a test database access.
_DATABASE_FIXTURES = frozenset({"db", "transactional_db", "live_server"})


def load_export(src: str | os.PathLike[str], database: str = DEFAULT_DB_ALIAS) -> RunSummary:
    """Import the export at ``src`` into the test database behind alias ``database``.

    The import devdata_import runs (manifest verified, one transaction), merged into the
    schema pytest-django built: call it with database access, e.g. from your own
    ``django_db_setup`` inside ``django_db_blocker.unblock()``. A database that is not a
    test database is refused, so that a misconfigured session cannot change a real one.
    """
    if database not in connections:
        raise DevdataError(
            f"database {database!r} is not in DATABASES; choose one of: {', '.join(connections)}"
        )
    reporter = _WarningReporter()
    store = stores.open_store(os.fspath(src), warn=reporter.warn)
    with store.reading() as local, store.naming(local, reporter):
        summary = run_import(
            database, local, load_settings(), _IntoTestDatabase(), reporter, hashed=store.verifies
        )
    connection = connections[database]
    if hasattr(connection, "_test_serialized_contents"):
        # What tests with serialized_rollback start from was read when the test database
        # was made (Django's TransactionTestCase): read it again, the export now in.
        connection._test_serialized_contents = connection.creation.serialize_db_to_string()
    return summary


def _is_test_database(database: str) -> bool:
    """Whether alias ``database`` points at a database Django's test setup made."""
    settings = connections[database].settings_dict
    name = str(settings["NAME"])
    test_name = (settings.get("TEST") or {}).get("NAME")
    if test_name:
        return name == test_name
    if connections[database].vendor == "sqlite":
        return connections[database].creation.is_in_memory_db(name)
    return name.startswith(TEST_DATABASE_PREFIX)


class _IntoTestDatabase(Reset):
    """Merge into the test database as pytest-django made and migrated it; refuse any other."""

    slug = "test-database"
    description_for_confirmation = "merge into the test database"
    destructive = False

    def reset_database(self, django_dbname: str) -> None:
        if not _is_test_database(django_dbname):
            raise DevdataError(
                f"{databases.describe(django_dbname)} (alias {django_dbname!r}) is not a test "
                "database: load exports into the databases pytest-django sets up (mark the "
                "tests django_db(databases=[...]) with this alias); nothing was imported"
            )


class _WarningReporter(Reporter):
    """Silent, but for warnings (another migration state than the export's, say), which
    go to pytest's warnings summary, where a passing run shows them too."""

    def __init__(self) -> None:
        super().__init__(sys.stdout, sys.stderr, 0, no_style())

    def warn(self, message: str) -> None:
        warnings.warn(f"devdata export: {self.shown(message)}", stacklevel=2)


@dataclass(frozen=True)
class _Export:
    """What a ``devdata_export`` mark asks for."""

    #: A path (made absolute under the rootdir) or a URL.
    src: str
    database: str


def _export(root: Path, mark: pytest.Mark) -> _Export:
    def read(src: str | os.PathLike[str], database: str = DEFAULT_DB_ALIAS) -> _Export:
        # A URL stays as it is; a path is the rootdir's.
        spec = os.fspath(src)
        return _Export(spec if stores.is_remote(spec) else str(root / spec), database)

    try:
        return read(*mark.args, **mark.kwargs)
    except TypeError:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER} takes the export's path and optionally database=ALIAS, "
            f"not {mark.args!r}, {mark.kwargs!r}"
        ) from None


def _exports(root: Path, items: Iterable[pytest.Item]) -> list[_Export]:
    """The exports the tests are marked with, each once, in the order they first appear."""
    found = {_export(root, mark): None for item in items for mark in item.iter_markers(MARKER)}
    return list(found)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(src, database='default'): load the devdata export at src (relative to "
        "the rootdir) into the test database once per session; gives the test django_db",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    """Give marked tests database access to the aliases their exports load into, before
    any other plugin's hook runs: pytest-django orders the tests by their django_db marks."""
    _give_database_access(config, items)
    yield


def _give_database_access(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        exports = _exports(config.rootpath, [item])
        if not exports:
            continue
        if not config.pluginmanager.hasplugin("django"):
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.{MARKER} loads into pytest-django's test "
                "database: pip install pytest-django"
            )
        asks = item.get_closest_marker("django_db") or _DATABASE_FIXTURES & set(
            getattr(item, "fixturenames", ())
        )
        if not asks:
            aliases = sorted({export.database for export in exports})
            item.add_marker(pytest.mark.django_db(databases=aliases))


@pytest.fixture(scope="session", autouse=True)
def _devdata_exports(request: pytest.FixtureRequest) -> None:
    """Load the exports the session's tests are marked with, once: a session fixture is
    set up before any test's transaction begins, so that the rollbacks keep the rows."""
    exports = _exports(request.config.rootpath, request.session.items)
    if not exports:
        return
    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        try:
            for export in exports:
                load_export(export.src, export.database)
        except DevdataError as exc:
            failure = f"@pytest.mark.{MARKER}: {exc}"
        else:
            return
    pytest.fail(failure, pytrace=False)  # every test of the session reports it, in one line


@pytest.fixture
def devdata_plugin() -> Iterator[Callable[..., Any]]:
    """Register plugins for the duration of one test."""
    pm = get_plugin_manager()
    registered: list[Any] = []

    def register(plugin: Any, name: str | None = None) -> Any:
        pm.register(plugin, name=name)
        registered.append(plugin)
        return plugin

    try:
        yield register
    finally:
        for plugin in registered:
            pm.unregister(plugin)


class ResetModeContract:
    """What every reset mode must satisfy. Provide a ``reset_mode`` fixture."""

    def test_is_a_reset_mode(self, reset_mode: Any) -> None:
        assert isinstance(reset_mode, Reset)

    def test_slug_is_a_command_line_word(self, reset_mode: Any) -> None:
        slug = reset_mode.slug
        assert slug and slug == slug.strip().lower() and " " not in slug

    def test_describes_itself_for_the_confirmation(self, reset_mode: Any) -> None:
        assert reset_mode.description_for_confirmation.strip()

    def test_prepares_in_a_context_manager(self, reset_mode: Any) -> None:
        """The import calls ``prepared``, around building the schema and loading."""
        prepared = reset_mode.prepared("default")  # not entered: touches no database
        assert hasattr(prepared, "__enter__") and hasattr(prepared, "__exit__")

    def test_is_registered_through_a_plugin(self, reset_mode: Any) -> None:
        assert type(reset_modes()[reset_mode.slug]) is type(reset_mode)


class StrategyContract:
    """What every strategy must satisfy. Provide a ``strategy`` fixture (an instance)."""

    def test_is_an_initialised_strategy(self, strategy: Any) -> None:
        assert isinstance(strategy, Strategy)
        assert getattr(strategy, "_devdata_initialised", False), "__init__ must call super()"

    def test_exportable_strategies_have_a_file_name(self, strategy: Any) -> None:
        if isinstance(strategy, Exportable):
            assert isinstance(strategy.name, str) and strategy.name
            assert strategy.data_file("dest", "app.Model").name == f"{strategy.name}.jsonl"

    def test_depends_on_names_models(self, strategy: Any) -> None:
        assert all(isinstance(label, str) and "." in label for label in strategy.depends_on)

    def test_class_is_registered_through_a_plugin(self, strategy: Any) -> None:
        assert strategy_classes().get(type(strategy).__name__) is type(strategy)
