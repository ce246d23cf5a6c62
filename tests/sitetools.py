"""The test site as a user sees it: two databases, an export directory and the commands."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connections
from django.db.models import ForeignKey, Model

TESTS_DIR = Path(__file__).parent


@dataclass
class Output:
    stdout: str
    stderr: str


class Site:
    def __init__(self, vendor: str, export_dir: Path, settings: Any) -> None:
        self.vendor = vendor
        self.src = "default" if vendor == "sqlite" else vendor
        self.dev = f"{vendor}_dev"
        self.export_dir = export_dir
        self.settings = settings
        #: Whether this test imported into the dev database (which then must be intact).
        self.imported = False

    def flush_production(self) -> None:
        call_command("flush", database=self.src, interactive=False, verbosity=0)

    def configure(self, **devdata_settings: Any) -> None:
        """Set ``DEVDATA_*`` settings for this test (restored afterwards)."""
        for name, value in devdata_settings.items():
            setattr(self.settings, name, value)

    def export(self, *args: str, **options: Any) -> Output:
        return self._call(
            "devdata_export", str(self.export_dir), *args, database=self.src, **options
        )

    def import_(self, *args: str, **options: Any) -> Output:
        options.setdefault("interactive", False)
        self.imported = True
        return self._call(
            "devdata_import", str(self.export_dir), *args, database=self.dev, **options
        )

    def roundtrip(self, **import_options: Any) -> None:
        self.export()
        self.import_(**import_options)

    def _call(self, command: str, *args: str, **options: Any) -> Output:
        stdout, stderr = io.StringIO(), io.StringIO()
        call_command(command, *args, stdout=stdout, stderr=stderr, **options)
        for alias in connections:
            connections[alias].close()
        return Output(stdout.getvalue(), stderr.getvalue())

    def cli(self, *args: str, input: str = "", **env: str | None) -> subprocess.CompletedProcess:
        """Run ``django-admin`` in a subprocess, as a user would, with this test's settings.

        ``input`` is what the user types; by default nothing, as with no terminal.
        """
        return subprocess.run(
            [sys.executable, "-m", "django", *args],
            capture_output=True,
            text=True,
            input=input,
            env=cli_environ(**env),
            timeout=300,
        )

    def start_cli(self, *args: str, **env: str | None) -> subprocess.Popen:
        """Start ``django-admin`` like :meth:`cli`, for a test that talks to it while it runs."""
        return subprocess.Popen(
            [sys.executable, "-m", "django", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_environ(**env),
        )

    @staticmethod
    def wait_for_file(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
        """Wait until ``process`` makes ``path``; fail if it ends first or takes ``timeout``."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            if process.poll() is not None:
                raise AssertionError(
                    f"the process ended ({process.returncode}) before writing {path}: "
                    f"{process.stderr.read().decode()}"
                )
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"no {path} after {timeout}s")
            time.sleep(0.02)

    # Looking at the data ----------------------------------------------------------

    def pks(self, model: type[Model], where: str = "dev") -> set[Any]:
        alias = self.dev if where == "dev" else self.src
        return set(model._base_manager.using(alias).values_list("pk", flat=True))

    def exported(self, label: str) -> dict[str, list[dict[str, Any]]]:
        """Rows of the export per strategy file name."""
        directory = self.export_dir / label
        return {
            path.stem: [json.loads(line) for line in path.read_text().split("\n") if line]
            for path in sorted(directory.glob("*.jsonl"))
        }

    def exported_pks(self, label: str) -> set[Any]:
        return {row["pk"] for rows in self.exported(label).values() for row in rows}

    # Checking that references are intact -------------------------------------------

    def dangling_in_database(self, where: str = "dev") -> list[str]:
        """Every reference in the database that points at no row, as ``table.column=value``."""
        connection = connections[self.dev if where == "dev" else self.src]
        quote = connection.ops.quote_name
        found = []
        with connection.cursor() as cursor:
            for model in _tables():
                for field in _references(model):
                    target = field.target_field
                    table, column = quote(model._meta.db_table), quote(field.column)
                    cursor.execute(
                        f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND NOT EXISTS "
                        f"(SELECT 1 FROM {quote(target.model._meta.db_table)} AS t "
                        f"WHERE t.{quote(target.column)} = {table}.{column})"
                    )
                    found += [f"{model._meta.db_table}.{field.column}={v!r}" for (v,) in cursor]
        for model in _tables():
            for gfk in _generic_keys(model):
                ct_attname = model._meta.get_field(gfk.ct_field).attname
                pairs = model._base_manager.using(connection.alias).values_list(
                    "pk", ct_attname, gfk.fk_field
                )
                for pk, content_type, object_id in pairs:
                    if content_type is None or object_id is None:
                        continue
                    target = self._content_type_model(content_type, connection.alias)
                    if (
                        target is None
                        or not target._base_manager.using(connection.alias)
                        .filter(pk=object_id)
                        .exists()
                    ):
                        found.append(
                            f"{model._meta.db_table}.{gfk.name}=({content_type!r}, {object_id!r}) "
                            f"(pk {pk!r})"
                        )
        return found

    def dangling_in_export(self) -> list[str]:
        """Every reference in the export files to a row the export does not hold."""
        rows = {
            apps.get_model(directory.name): [
                r for rs in self.exported(directory.name).values() for r in rs
            ]
            for directory in self.export_dir.iterdir()
            if directory.is_dir()
        }
        found = []
        for model, model_rows in rows.items():
            for field in _references(model):
                target = field.target_field
                held = {
                    target.to_python(value)
                    for row in rows.get(target.model, [])
                    if (value := _value(row, target)) is not None
                }
                for row in model_rows:
                    value = _value(row, field)
                    if value is None:
                        continue
                    if isinstance(value, list):
                        # A natural key: matched on import against the rows the dev
                        # database's migrations made, not against rows of the export.
                        if not self._natural_key_exists(target.model, value):
                            found.append(
                                f"{model._meta.label}.{field.name}={value!r} (pk {row.get('pk')!r})"
                            )
                    elif field.to_python(value) not in held:
                        found.append(
                            f"{model._meta.label}.{field.name}={value!r} (pk {row.get('pk')!r})"
                        )
            for gfk in _generic_keys(model):
                for row in model_rows:
                    content_type = row["fields"].get(gfk.ct_field)
                    object_id = row["fields"].get(gfk.fk_field)
                    if content_type is None or object_id is None:
                        continue
                    target = self._content_type_model(content_type, self.src)
                    held = (
                        {target._meta.pk.to_python(r.get("pk")) for r in rows.get(target, [])}
                        if target is not None
                        else set()
                    )
                    if target is None or target._meta.pk.to_python(object_id) not in held:
                        found.append(
                            f"{model._meta.label}.{gfk.name}=({content_type!r}, {object_id!r}) "
                            f"(pk {row.get('pk')!r})"
                        )
        return found

    def _natural_key_exists(self, model: type[Model], key: list[Any]) -> bool:
        try:
            model._default_manager.db_manager(self.src).get_by_natural_key(*key)
        except model.DoesNotExist:
            return False
        return True

    @staticmethod
    def _content_type_model(value: Any, alias: str) -> type[Model] | None:
        """The concrete model a content type reference (natural key or id) stands for."""
        if isinstance(value, list):
            app_label, name = value
        else:
            found = (
                ContentType.objects.using(alias).filter(pk=value).values_list("app_label", "model")
            )
            if not found:
                return None
            app_label, name = found[0]
        try:
            return apps.get_model(app_label, name)._meta.concrete_model
        except LookupError:
            return None

    def assert_intact(self) -> None:
        """The export, and the dev database if this test imported, reference only rows they hold."""
        if self.export_dir.is_dir():
            dangling = self.dangling_in_export()
            assert dangling == [], f"the export references rows it does not hold: {dangling}"
        if self.imported:
            dangling = self.dangling_in_database()
            assert dangling == [], f"the dev database references missing rows: {dangling}"

    # Looking at exports without importing them -----------------------------------

    def export_snapshot(self) -> dict[Path, bytes] | None:
        """Every file under the export directory with its bytes; ``None`` if there is none."""
        if not self.export_dir.exists():
            return None
        return {
            p.relative_to(self.export_dir): p.read_bytes()
            for p in self.export_dir.rglob("*")
            if p.is_file()
        }

    def reseal_export(self) -> None:
        """Make the export's manifest vouch for its files as they are now, for tests of what
        the import finds inside files that a manifest lists (corrupt lines, bad values)."""
        from devdata_core import manifest

        found = manifest.read(self.export_dir)
        assert found is not None, f"{self.export_dir} has no manifest to reseal"
        names = manifest.file_names(self.export_dir)
        entries = tuple(manifest.describe_file(self.export_dir, name) for name in names)
        manifest.write(self.export_dir, dataclasses.replace(found, entries=entries))

    def plan(self, *args: str, **options: Any) -> Plan:
        """``devdata_export --plan``: what an export would take, read from its output."""
        output = self.export("--plan", *args, **options)
        return Plan(output.stdout)


def cli_environ(**env: str | None) -> dict[str, str]:
    """The environment of a ``django-admin`` subprocess: the test site's settings (or the
    ``DJANGO_SETTINGS_MODULE`` in ``env``), with the tests directory on the path; a
    variable that ``env`` sets to ``None`` is left out."""
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "testsite.settings",
        **env,
    }
    return {name: value for name, value in environ.items() if value is not None}


def content_type(alias: str, model: type[Model]) -> ContentType:
    """``model``'s content type in database ``alias``, read afresh (never Django's cache).

    Each test recreates the dev database and may give production other content type ids,
    so the process-wide cache of ``ContentType.objects.get_for_model`` is not to be trusted.
    """
    return ContentType.objects.using(alias).get(
        app_label=model._meta.app_label, model=model._meta.model_name
    )


def model_labels() -> list[str]:
    """``app_label.ModelName`` of every installed model, auto-created ones included."""
    return [
        f"{m._meta.app_label}.{m._meta.object_name}"
        for m in apps.get_models(include_auto_created=True)
    ]


@dataclass
class PlanEntry:
    """What ``--plan`` says of one model: its label, its lines, and its row count."""

    label: str
    text: str
    rows: int | None


class Plan:
    """The output of ``devdata_export --plan``, read robustly (spacing and wording aside).

    A model's section starts at a line that begins with its label (after an optional
    number, bullet or table bar, e.g. ``3. shop.Order`` or ``- shop.Order:``), not followed by a
    field (``shop.Order.customer`` names a relation), and runs until the next model's
    section. Its row count is the ``N rows`` (or ``1 row``) on that first line, or else the
    last one in the section.
    """

    _COUNT = re.compile(r"(\d[\d,_]*)\s+rows?\b")

    def __init__(self, text: str) -> None:
        self.text = text
        labels = sorted(model_labels(), key=len, reverse=True)
        heading = re.compile(
            r"^\s*(?:\d+\s*[.):|]?\s*|[-*|\u2022]\s*)?("
            + "|".join(re.escape(label) for label in labels)
            + r")(?!\.?\w)"
        )
        self.entries: list[PlanEntry] = []
        current: tuple[str, list[str]] | None = None
        for line in text.splitlines():
            match = heading.match(line)
            if match:
                if current:
                    self._close(*current)
                current = (match.group(1), [line])
            elif current:
                current[1].append(line)
        if current:
            self._close(*current)

    def _close(self, label: str, lines: list[str]) -> None:
        first = self._COUNT.findall(lines[0])
        counts = first or self._COUNT.findall("\n".join(lines))
        rows = int(re.sub(r"[,_]", "", counts[-1])) if counts else None
        self.entries.append(PlanEntry(label, "\n".join(lines), rows))

    @property
    def order(self) -> list[str]:
        return [entry.label for entry in self.entries]

    def __getitem__(self, label: str) -> PlanEntry:
        found = [entry for entry in self.entries if entry.label == label]
        assert len(found) == 1, f"{label} has {len(found)} sections in the plan:\n{self.text}"
        return found[0]

    def __contains__(self, label: str) -> bool:
        return any(entry.label == label for entry in self.entries)

    def rows(self, *labels: str) -> dict[str, int | None]:
        return {label: self[label].rows for label in labels}


def _tables() -> list[type[Model]]:
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]


def _references(model: type[Model]) -> list[ForeignKey]:
    """Foreign keys the database enforces: one with ``db_constraint=False`` may dangle."""
    return [
        f
        for f in model._meta.local_concrete_fields
        if isinstance(f, ForeignKey) and f.db_constraint
    ]


def _generic_keys(model: type[Model]) -> list[GenericForeignKey]:
    """Generic foreign keys declared on ``model`` itself (``content_type`` + ``object_id``)."""
    return [
        f
        for f in model._meta.private_fields
        if isinstance(f, GenericForeignKey) and f.model is model
    ]


def _value(row: dict[str, Any], field: Any) -> Any:
    return row.get("pk") if field.primary_key else row["fields"].get(field.name)
