"""The dev database's schema, and the migration state an export came from.

``migrations.json`` in an export holds the source's ``django_migrations`` rows. The
import builds the schema by running the project's migrations (so views, functions
and extensions made by ``RunSQL``/``RunPython`` exist too), or, as a faster option,
by creating tables straight from the models and recording every migration as applied.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Literal

from django.apps import apps
from django.core.management import call_command
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import override_settings

from . import layout
from .errors import DataFileError
from .files import atomic_writer
from .serialization import ExportJSONEncoder

SchemaMode = Literal["migrations", "models"]


def export_migration_state(database: str, dest: Path) -> None:
    """Write the source's applied migrations to ``<dest>/migrations.json``."""
    recorder = MigrationRecorder(connections[database])
    rows = []
    if recorder.has_table():
        rows = [
            {"app": app, "name": name, "applied": applied}
            for app, name, applied in recorder.migration_qs.order_by("id").values_list(
                "app", "name", "applied"
            )
        ]
    with atomic_writer(dest / layout.MIGRATIONS) as f:
        json.dump(rows, f, indent=2, cls=ExportJSONEncoder)


def read_migration_state(src: Path) -> set[tuple[str, str]] | None:
    """The ``(app, name)`` migrations applied in the export's source, if it recorded them."""
    path = src / layout.MIGRATIONS
    if not path.is_file():
        return None
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {(row["app"], row["name"]) for row in rows}
    except (ValueError, TypeError, KeyError) as exc:
        raise DataFileError(f"{path}: not a list of migrations ({exc}); export it again") from None


def migration_differences(source: set[tuple[str, str]], database: str) -> dict[str, str]:
    """Per app label, how the source's migration state differs from this project's migrations."""
    project = set(MigrationLoader(connections[database], ignore_no_migrations=True).graph.nodes)
    source_apps = {app for app, _ in source}
    installed = {config.label for config in apps.get_app_configs()}
    by_app: dict[str, list[str]] = defaultdict(list)
    for app, name in sorted(source - project):
        if app in installed:
            by_app[app].append(f"source applied {name}, which this project lacks")
    for app, name in sorted(project - source):
        if app in source_apps:
            by_app[app].append(f"this project has {name}, which the source had not applied")
    return {app: "; ".join(notes) for app, notes in by_app.items()}


def record_prepared_apps(database: str) -> None:
    """Record as applied the migrations of apps whose tables exist but have no history.

    A schema made from a schema-only dump, or by ``migrate --run-syncdb``, has every
    table at its latest state and no ``django_migrations`` rows. Migrating then fails
    (the tables exist), and faking only the initial migrations is not enough (later ones
    alter what is already altered), so an app none of whose migrations is recorded and
    all of whose tables exist counts as fully migrated. Other apps migrate as usual,
    with ``--fake-initial``.
    """
    connection = connections[database]
    tables = set(connection.introspection.table_names())
    if not tables:
        return
    recorder = MigrationRecorder(connection)
    recorder.ensure_schema()
    applied = set(recorder.applied_migrations())
    recorded = {app for app, _ in applied}
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    prepared = set()
    for config in apps.get_app_configs():
        models = [
            m
            for m in config.get_models(include_auto_created=True)
            if m._meta.managed and not m._meta.proxy and not m._meta.swapped
        ]
        if (
            config.label in loader.migrated_apps
            and config.label not in recorded
            and models
            and all(m._meta.db_table in tables for m in models)
        ):
            prepared.add(config.label)
    plans = {
        app: [n for leaf in loader.graph.leaf_nodes(app) for n in loader.graph.forwards_plan(leaf)]
        for app in prepared
    }
    # An app stays prepared only if what its migrations depend on is applied or prepared.
    while unmet := {
        app
        for app, plan in plans.items()
        if any(n not in applied and n[0] not in plans for n in plan)
    }:
        plans = {app: plan for app, plan in plans.items() if app not in unmet}
    for plan in plans.values():
        for node in plan:
            if node[0] in plans and node not in applied:
                recorder.record_applied(*node)
                applied.add(node)


def build_schema(database: str, mode: SchemaMode) -> None:
    """Create the project's schema in the (reset) database."""
    if mode == "migrations":
        record_prepared_apps(database)
        call_command(
            "migrate",
            database=database,
            interactive=False,
            verbosity=0,
            skip_checks=True,
            fake_initial=True,
        )
    else:
        connection = connections[database]
        no_migrations = {config.label: None for config in apps.get_app_configs()}
        with override_settings(MIGRATION_MODULES=no_migrations):
            call_command(
                "migrate",
                database=database,
                run_syncdb=True,
                interactive=False,
                verbosity=0,
                skip_checks=True,
            )
        recorder = MigrationRecorder(connection)
        recorder.ensure_schema()
        applied = recorder.applied_migrations()
        for app, name in MigrationLoader(connection, ignore_no_migrations=True).graph.nodes:
            if (app, name) not in applied:
                recorder.record_applied(app, name)
    call_command("createcachetable", database=database, verbosity=0)
