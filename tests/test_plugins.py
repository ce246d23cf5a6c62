"""Plugins: found through entry points, listed, disabled, and reported by name when they fail."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError

from devdata_core import hookimpl
from devdata_core.extras import ExtraExport, ExtraImport
from devdata_core.plugins import reset_plugin_manager
from testsite import devdata_hooks

THIRD_PARTY = Path(__file__).parent / "thirdparty" / "devdata-shouting"
BROKEN = Path(__file__).parent / "thirdparty" / "devdata-broken"
BUILT_IN = {
    "devdata-core",
    "devdata-queryset",
    "devdata-reset",
    "devdata-factory",
    "devdata-postgres",
    "devdata-treebeard",
}


def list_plugins(site) -> dict:
    return json.loads(site._call("devdata_plugins", json=True).stdout)


def test_built_in_plugins_are_listed_with_distribution_version_and_hooks(site):
    listed = {p["name"]: p for p in list_plugins(site)["plugins"]}

    assert set(listed) >= BUILT_IN
    assert listed["devdata-queryset"]["distribution"] == "devdata-queryset"
    assert listed["devdata-queryset"]["version"] == "2.0.0.dev0"
    assert listed["devdata-queryset"]["hooks"] == ["devdata_strategy_classes"]
    assert listed["devdata-reset"]["hooks"] == ["devdata_reset_modes"]
    assert listed["devdata-core"]["hooks"] == ["devdata_anonymisers"]
    assert listed["devdata-factory"]["hooks"] == ["devdata_strategy_classes"]
    assert listed["devdata-postgres"]["hooks"] == ["devdata_extra_strategy_classes"]
    assert listed["devdata-treebeard"]["hooks"] == [
        "devdata_after_import_model",
        "devdata_references",
    ]
    assert {listed[name]["distribution"] for name in BUILT_IN} == BUILT_IN


@pytest.mark.databases_only("sqlite")
def test_each_plugin_lists_what_it_provides(site):
    listed = {p["name"]: p["provides"] for p in list_plugins(site)["plugins"]}

    nothing = {"reset_modes": [], "strategy_classes": [], "extras": [], "anonymisers": []}
    assert listed["devdata-reset"] == {
        **nothing,
        "reset_modes": ["drop-database", "drop-tables", "none", "require-empty"],
    }
    assert listed["devdata-core"] == {
        **nothing,
        "anonymisers": ["const", "faker", "keep", "random_foreign_key"],
    }
    assert listed["devdata-postgres"] == {**nothing, "extras": ["PostgresSequences"]}
    assert listed["devdata-factory"] == {**nothing, "strategy_classes": ["FactoryStrategy"]}
    assert "RandomSampleQuerySetStrategy" in listed["devdata-queryset"]["strategy_classes"]


@pytest.mark.databases_only("sqlite")
def test_plugins_table_names_each_plugin(site):
    table = site._call("devdata_plugins").stdout

    header, *rows = [line.split(maxsplit=4) for line in table.splitlines()]
    assert header == ["plugin", "distribution", "hooks", "provides"]
    assert [
        "devdata-reset",
        "devdata-reset",
        "2.0.0.dev0",
        "devdata_reset_modes",
        "reset modes: drop-database, drop-tables, none, require-empty",
    ] in rows
    core = ["devdata-core", "devdata-core", "2.0.0.dev0", "devdata_anonymisers"]
    assert [*core, "anonymisers: const, faker, keep, random_foreign_key"] in rows
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)


def test_project_hooks_from_settings_run_after_every_import(site):
    site.configure(DEVDATA_PLUGINS=["testsite.devdata_hooks"])
    User.objects.using(site.src).create(username="alice")

    site.roundtrip()

    assert set(User.objects.using(site.dev).values_list("username", flat=True)) == {
        "alice",
        devdata_hooks.LOGIN,
    }
    listed = {p["name"]: p for p in list_plugins(site)["plugins"]}
    assert listed["testsite.devdata_hooks"]["hooks"] == ["devdata_after_import"]
    assert listed["testsite.devdata_hooks"]["distribution"] is None


@pytest.mark.databases_only("sqlite")
def test_a_disabled_plugin_is_not_loaded_and_its_absence_is_explained(site):
    site.configure(DEVDATA_DISABLE_PLUGINS=["devdata-reset"])
    site.export()

    listing = list_plugins(site)
    assert "devdata-reset" not in {p["name"] for p in listing["plugins"]}
    assert listing["disabled"] == ["devdata-reset"]
    with pytest.raises(CommandError) as error:
        site.import_()
    assert str(error.value) == (
        "reset mode 'drop-database' not found: is its plugin installed? Installed: none"
    )


@pytest.mark.databases_only("sqlite")
def test_core_alone_starts_and_says_what_is_missing(site):
    installed = importlib.metadata.entry_points(group="devdata")
    site.configure(
        DEVDATA_DISABLE_PLUGINS=[ep.name for ep in installed if ep.name != "devdata-core"],
        DEVDATA_DEFAULT_STRATEGY=("QuerySetStrategy", {"name": "all"}),
    )

    assert [p["name"] for p in list_plugins(site)["plugins"]] == ["devdata-core"]
    with pytest.raises(CommandError) as error:
        site.export()
    assert "no plugin provides a class named 'QuerySetStrategy': is its plugin installed?" in str(
        error.value
    )


class Recorder:
    """A throwaway plugin that records every lifecycle hook call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def _record(self, hook: str, model=None) -> None:
        self.calls.append((hook, model._meta.label if model else ""))

    @hookimpl
    def devdata_before_export(self, database, dest, models):
        self._record("devdata_before_export")

    @hookimpl
    def devdata_before_export_model(self, database, dest, model, strategies):
        self._record("devdata_before_export_model", model)

    @hookimpl
    def devdata_after_export_model(self, database, dest, model, rows):
        self._record("devdata_after_export_model", model)

    @hookimpl
    def devdata_after_export(self, database, dest, summary):
        self._record("devdata_after_export")

    @hookimpl
    def devdata_before_import(self, database, src, models):
        self._record("devdata_before_import")

    @hookimpl
    def devdata_before_import_model(self, database, src, model, strategies):
        self._record("devdata_before_import_model", model)

    @hookimpl
    def devdata_after_import_model(self, database, src, model, rows):
        self._record("devdata_after_import_model", model)

    @hookimpl
    def devdata_after_import(self, database, src, summary):
        self._record("devdata_after_import")


def test_lifecycle_hooks_fire_around_runs_and_models(site, devdata_plugin):
    recorder = devdata_plugin(Recorder(), name="recorder")
    User.objects.using(site.src).create(username="alice")

    site.roundtrip()

    hooks = [hook for hook, _ in recorder.calls]
    assert hooks[0] == "devdata_before_export"
    assert hooks.index("devdata_after_export") < hooks.index("devdata_before_import")
    assert hooks[-1] == "devdata_after_import"
    user_calls = [hook for hook, label in recorder.calls if label == "auth.User"]
    assert user_calls == [
        "devdata_before_export_model",
        "devdata_after_export_model",
        "devdata_before_import_model",
        "devdata_after_import_model",
    ]


class Failing:
    @hookimpl
    def devdata_before_export(self, database, dest, models):
        raise RuntimeError("no coffee")


def test_a_failing_plugin_is_named_with_its_hook(site, devdata_plugin):
    devdata_plugin(Failing(), name="sleepy-plugin")

    with pytest.raises(CommandError) as error:
        site.export()

    assert str(error.value) == (
        "plugin 'sleepy-plugin' failed in hook devdata_before_export: RuntimeError: no coffee"
    )


@pytest.mark.databases_only("sqlite")
def test_a_failing_plugin_gives_the_user_one_line_and_no_traceback(site):
    result = site.cli(
        "devdata_export",
        str(site.export_dir),
        "--settings",
        "testsite.settings_failing_plugin",
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "PluginError: plugin 'testsite.failing_hooks' failed in hook devdata_before_export: "
        "RuntimeError: no coffee"
    ]


@contextmanager
def pip_installed(directory: Path) -> Iterator[None]:
    """Install a plugin package with pip, as a user would, and remove it afterwards."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-build-isolation", str(directory)],
        check=True,
        capture_output=True,
    )
    reset_plugin_manager()
    try:
        yield
    finally:
        subprocess.run([*pip, "uninstall", "-y", directory.name], check=True)
        sys.modules.pop(directory.name.replace("-", "_"), None)
        reset_plugin_manager()


@pytest.fixture
def third_party_plugin():
    with pip_installed(THIRD_PARTY):
        yield


@pytest.mark.databases_only("sqlite")
def test_a_pip_installed_plugin_is_found_through_its_entry_point(site, third_party_plugin):
    for pk in range(1, 7):
        User.objects.using(site.src).create(pk=pk, username=f"user{pk}", first_name=f"name{pk}")
    site.configure(
        DEVDATA_STRATEGIES={"auth.User": [("EvenRowsStrategy", {"name": "even"})]},
        DEVDATA_MODEL_ANONYMISERS={"auth.User": {"first_name": ("shout", {"suffix": "?"})}},
    )

    site.roundtrip()

    listed = {p["name"]: p for p in list_plugins(site)["plugins"]}
    assert listed["devdata-shouting"]["version"] == "0.3.1"
    assert listed["devdata-shouting"]["hooks"] == [
        "devdata_anonymisers",
        "devdata_strategy_classes",
    ]
    assert dict(User.objects.using(site.dev).values_list("pk", "first_name")) == {
        2: "NAME2?",
        4: "NAME4?",
        6: "NAME6?",
    }


class UserCountExtra(ExtraExport, ExtraImport):
    """An extra a plugin registers: carries the production user count into a Group name."""

    def __init__(self, name="user-count"):
        super().__init__(name=name)

    def export_data(self, django_dbname, dest, no_update=False, log=print):
        count = User.objects.using(django_dbname).count()
        self.data_file(dest).write_text(json.dumps({"users": count}))

    def import_data(self, django_dbname, src):
        count = json.loads(self.data_file(src).read_text())["users"]
        Group.objects.using(django_dbname).create(name=f"{count} users in production")


class ExtraPlugin:
    @hookimpl
    def devdata_extra_strategy_classes(self):
        return [UserCountExtra]


def test_extra_strategies_registered_by_a_plugin_run_after_the_models(site, devdata_plugin):
    devdata_plugin(ExtraPlugin(), name="user-count")
    site.configure(DEVDATA_EXTRA_STRATEGIES=[("UserCountExtra", {})])
    User.objects.using(site.src).create(username="alice")
    User.objects.using(site.src).create(username="bob")

    site.roundtrip()

    assert json.loads((site.export_dir / "user-count.json").read_text()) == {"users": 2}
    assert list(Group.objects.using(site.dev).values_list("name", flat=True)) == [
        "2 users in production"
    ]


@pytest.mark.databases_only("sqlite")
def test_a_plugin_that_does_not_load_is_named_and_can_be_disabled(site):
    with pip_installed(BROKEN):
        result = site.cli("devdata_plugins")
        disabled = site.cli("devdata_plugins", "--settings", "testsite.settings_without_broken")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "PluginError: plugin 'devdata-broken' (devdata_broken.missing) failed to load: "
        "ModuleNotFoundError: No module named 'devdata_broken.missing'; reinstall it, or add "
        "'devdata-broken' to DEVDATA_DISABLE_PLUGINS"
    ]
    assert disabled.returncode == 0, disabled.stderr
    assert "devdata-broken: disabled by DEVDATA_DISABLE_PLUGINS" in disabled.stdout


@pytest.mark.databases_only("sqlite")
def test_import_help_lists_the_reset_modes_plugins_provide(site):
    result = site.cli("devdata_import", "--help", COLUMNS="300")  # one line per option

    assert result.returncode == 0, result.stderr
    assert (
        "--reset-mode MODE How to prepare the database: one of drop-database, drop-tables, "
        "none, require-empty (default: drop-database)."
    ) in " ".join(result.stdout.split())
