"""The export engine: takes models in dependency order and keeps references intact.

A row is written only if every row it references was written too (or the reference
is null), or if the reference's rule keeps it (:mod:`devdata_core.rules`: set to NULL or
a default, or not enforced by the source). Keys of written rows are held in compact
:class:`KeySet`\\ s, not whole rows; rows stream from the database in chunks.
References that cannot be checked when a row is written (self-references and the edges
that break cycles, see :mod:`devdata_core.graph`, and references to models that may
still gain rows, through pulls or inheritance) are checked once the export is complete
(:mod:`devdata_core.pruning`): no row is dropped for a row the export brings later.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import F, Model, Q, QuerySet

from . import (
    copy_export,
    databases,
    derived,
    layout,
    manifest,
    plugins,
    pruning,
    rules,
    schema,
    snapshot,
    staging,
)
from .anonymisation import audit
from .anonymisation.apply import Anonymisation
from .anonymisation.keyed import key_id
from .anonymisers import is_kept
from .errors import DevdataError, guard
from .extras import ExtraExport
from .files import atomic_writer
from .graph import Reference
from .keys import KeySet
from .manifest import Manifest
from .plan import ExportPlan, GenericReference, export_plan, pulled_file
from .references import DerivedReference
from .reporting import Progress, Reporter, RunSummary
from .serialization import (
    NaturalKeys,
    RowSerializer,
    Values,
    column_values,
    encode,
    field_by_attname,
    field_name,
    read_rows,
    serialised,
    stored_fields,
)
from .settings import DevdataSettings, model_label
from .strategies import Exportable, Strategy

#: Rows fetched from the database per round trip.
CHUNK_SIZE = 2000
#: Largest key set a query is restricted by; rows are checked against larger ones in
#: Python. Measured on PostgreSQL: 2.8x faster than Python at 120,000 keys, no faster at
#: a million (most rows selected), where sending them cost 46 MB more memory.
SQL_KEYS_LIMIT = 500_000
#: Keys asked for per query when fetching pulled rows.
PULL_CHUNK_SIZE = 1000

_current: ContextVar[ExportRun | None] = ContextVar("devdata_export_run", default=None)


@dataclass
class RowRules:
    """What a row of one model, from one source, must satisfy and what it brings in."""

    #: References checked as the row is written: their rule applies if one fails.
    checks: list[tuple[str, KeySet, Reference, rules.Rule]]
    #: References checked at the end (deferred ones, pulls): values still missing now.
    pending: list[tuple[str, KeySet, set[Any]]]
    #: References whose missing rows are fetched: (attname, target key set, requests).
    pulls: list[tuple[str, KeySet, set[Any]]]
    #: Generic foreign keys, with the values they point at that are not yet known.
    generic: list[tuple[GenericReference, set[tuple[type[Model], Any]]]]
    #: Key sets of the model (primary key and any ``to_field``) to add the row's values to.
    keys: list[tuple[str, KeySet]]
    #: Key sets of child models (multi-table inheritance) whose rows the row brings.
    children: list[tuple[KeySet, set[Any]]]
    #: References plugins declare, resolved once the rows are written.
    following: list[derived.Following]

    def indexed(self, columns: Sequence[str]) -> IndexedRules:
        """The same rules for rows fetched as tuples of ``columns``: attnames become indexes."""
        index = columns.index
        return IndexedRules(
            checks=[(index(attname), *check) for attname, *check in self.checks],
            pending=[(index(attname), keys, values) for attname, keys, values in self.pending],
            pulls=[(index(attname), keys, values) for attname, keys, values in self.pulls],
            generic=[
                (index(gref.ct_attname), index(gref.fk_attname), waiting)
                for gref, waiting in self.generic
            ],
            keys=[(index(attname), keys) for attname, keys in self.keys],
            children=self.children,
            following=[
                (tuple(index(c) for c in follow.reference.columns), follow)
                for follow in self.following
            ],
        )


@dataclass
class IndexedRules:
    """:class:`RowRules` for rows fetched as tuples: each field given by its position."""

    checks: list[tuple[int, KeySet, Reference, rules.Rule]]
    pending: list[tuple[int, KeySet, set[Any]]]
    pulls: list[tuple[int, KeySet, set[Any]]]
    generic: list[tuple[int, int, set[tuple[type[Model], Any]]]]
    keys: list[tuple[int, KeySet]]
    children: list[tuple[KeySet, set[Any]]]
    following: list[tuple[tuple[int, ...], derived.Following]]
    #: Whether models that generic foreign keys point at may still gain rows, asked once.
    growing: dict[type[Model], bool] = dataclasses.field(default_factory=dict)


class ExportRun:
    """The state of one ``devdata_export``: what has been written so far."""

    def __init__(
        self,
        database: str,
        stage: staging.Stage,
        plan: ExportPlan,
        models: Sequence[type[Model]],
        reporter: Reporter,
        dry_run: bool = False,
    ) -> None:
        self.database = database
        self.stage = stage
        #: What strategies and extras log through: paths named as they will be.
        self.log = stage.log(reporter.info)
        #: Where this run writes: the staging directory.
        self.dest = stage.path
        self.plan = plan
        self.settings = plan.settings
        self.graph = plan.graph
        self.models = list(models)
        self.reporter = reporter
        #: ``--plan``: nothing is anonymised, and every reference is checked here, not in
        #: SQL, so that rules count the rows they affect.
        self.dry_run = dry_run
        self.anonymise = not dry_run
        #: Rows each reference's rule kept with a new value or dropped, by action.
        self.affected: Counter[tuple[Reference, str]] = Counter()
        self._rules: dict[tuple[Reference, int], rules.Rule] = {}
        #: The leak audit, told of every value replaced (none for ``--plan``, or if turned off).
        self.audit = audit.LeakAudit(plan.settings) if plan.settings.audit and not dry_run else None
        self.anonymisation = Anonymisation(
            plan.settings,
            self.dest,
            keys=self.keyset,
            on_replaced=self.audit.remember if self.audit else None,
        )
        if self.anonymise:
            self.anonymisation.check(self.models)
        self.natural = NaturalKeys(database, plan.natural, plan.natural_columns)
        self.summary = RunSummary("Exported")
        self.complete: set[type[Model]] = set()
        #: Models whose rows this run has taken so far (their own and pulled ones).
        self.done: set[type[Model]] = set()
        self.pending: dict[Reference, set[Any]] = {}
        self.generic_pending: dict[GenericReference, set[tuple[type[Model], Any]]] = {}
        self.derived_pending: dict[DerivedReference, set[Any]] = {}
        #: Values of a key of a model that pulled references ask for, and those asked already.
        self.requests: dict[tuple[type[Model], str], set[Any]] = {}
        self.asked: dict[tuple[type[Model], str], set[Any]] = {}
        #: Models with a data file kept from an earlier export (``--no-update``).
        self.kept: set[type[Model]] = set()
        self.pulled_files = PulledFiles(self.dest)
        #: The snapshot the run reads, once open: its jobs copy big tables in parts.
        self.snapshot = snapshot.Snapshot(database)
        self._keys: dict[tuple[type[Model], str], KeySet] = {}
        self._referenced: dict[type[Model], set[str]] = {}
        self._content_types: dict[Any, type[Model] | None] = {}
        for refs in self.graph.references.values():
            for ref in refs:
                self._referenced.setdefault(ref.target, set()).add(ref.target_field)
        for drefs in plan.derived.values():
            for dref in drefs:
                target = dref.target._meta.concrete_model
                self._referenced.setdefault(target, set()).add(dref.target_field)
        self._bringers = _bringers(plan)

    # Keys -------------------------------------------------------------------

    def key_fields(self, model: type[Model]) -> list[str]:
        """Attnames whose values other rows reference: the primary key, and any ``to_field``."""
        model = model._meta.concrete_model
        return sorted({model._meta.pk.attname} | self._referenced.get(model, set()))

    def keyset(self, model: type[Model], attname: str | None = None) -> KeySet:
        """Keys of ``model`` this export holds, read from ``dest`` if this run does not take it."""
        model = model._meta.concrete_model
        key = (model, attname or model._meta.pk.attname)
        if key not in self._keys:
            if model in self.models:
                self._keys[key] = KeySet(field_by_attname(model, key[1]))
            else:
                self._keys[key] = keys_from_files(self.dest, model, key[1])
        return self._keys[key]

    def strategies(self, model: type[Model]) -> list[Strategy]:
        return self.plan.strategies(model)

    def content_type_model(self, content_type: Any) -> type[Model] | None:
        """The model of a content type, given by id (in the source) or natural key."""
        if isinstance(content_type, list):
            try:
                return apps.get_model(*content_type)._meta.concrete_model
            except (LookupError, TypeError, ValueError):
                return None
        if content_type not in self._content_types:
            from django.contrib.contenttypes.models import ContentType

            try:
                found = ContentType.objects.db_manager(self.database).get_for_id(content_type)
            except ContentType.DoesNotExist:
                # An id in a plain integer column that no content type has.
                self._content_types[content_type] = None
                return None
            model_class = found.model_class()
            self._content_types[content_type] = (
                model_class._meta.concrete_model if model_class else None
            )
        return self._content_types[content_type]

    # Restriction --------------------------------------------------------------

    def rules(self, model: type[Model], strategy: Strategy | None) -> RowRules:
        """The rules for rows of ``model`` from ``strategy`` (``None``: pulled rows)."""
        pulls = self.plan.pulls(model, strategy)
        checks, pending, pulling = [], [], []
        for ref in self.graph.references.get(model, ()):
            if self._always_intact(ref):
                continue
            keys = self.keyset(ref.target, ref.target_field)
            rule = self.rule(ref, strategy)
            if ref in pulls:
                request = self.requests.setdefault((ref.target, ref.target_field), set())
                pulling.append((ref.attname, keys, request))
            if rule.action == "keep":
                continue
            if ref in pulls or strategy is None or not self._settled(ref):
                pending.append((ref.attname, keys, self.pending.setdefault(ref, set())))
            else:
                checks.append((ref.attname, keys, ref, rule))
        children = [
            (
                self.keyset(ref.model),
                self.requests.setdefault((ref.model, ref.model._meta.pk.attname), set()),
            )
            for ref in self.plan.children(model)
            if ref.model in self.models
        ]
        return RowRules(
            checks=checks,
            pending=pending,
            pulls=pulling,
            generic=[
                (gref, self.generic_pending.setdefault(gref, set()))
                for gref in self.plan.generic.get(model, [])
            ],
            keys=[(name, self.keyset(model, name)) for name in self.key_fields(model)],
            children=children,
            following=[self._following(dref) for dref in self.plan.derived.get(model, [])],
        )

    def _following(self, dref: DerivedReference) -> derived.Following:
        target = dref.target._meta.concrete_model
        pulls = dref.rule == "pull" and target in self.models
        return derived.Following(
            reference=dref,
            keys=self.keyset(target, dref.target_field),
            waiting=self.derived_pending.setdefault(dref, set()),
            request=(
                self.requests.setdefault((target, dref.target_field), set()) if pulls else None
            ),
        )

    def rule(self, ref: Reference, strategy: Strategy | None) -> rules.Rule:
        """What becomes of rows of ``strategy`` (``None``: pulled rows) whose ``ref`` is missing."""
        key = (ref, id(strategy))
        if key not in self._rules:
            self._rules[key] = rules.missing_rule(ref, strategy, self.settings, self.database)
        return self._rules[key]

    def may_grow(self, model: type[Model]) -> bool:
        """Whether ``model`` may still gain rows in this export: it is not done yet, rows of
        a model not done yet may bring its rows (pulls, inheritance), or rows are asked."""
        model = model._meta.concrete_model
        return model in self.models and (
            model not in self.done
            or any(m not in self.done for m in self._bringers.get(model, ()))
            or self.wants_rows(model)
        )

    def _settled(self, ref: Reference) -> bool:
        """Whether rows can be checked against ``ref`` as they are written: otherwise the
        check waits for the end of the export (pending, then pruning)."""
        return ref not in self.graph.deferred and not self.may_grow(ref.target)

    def _always_intact(self, ref: Reference) -> bool:
        """Whether every row keeps ``ref`` intact: the database enforces it and this
        export holds every row of its target."""
        return (
            ref.target in self.complete
            and ref.field.db_constraint
            and connections[self.database].features.supports_foreign_keys
        )

    def _restrictions(
        self, model: type[Model], strategy: Strategy
    ) -> Iterator[tuple[Reference, KeySet | None]]:
        """References that drop rows of ``strategy`` as they are written, with their key sets.

        The key set is ``None`` where rows are checked in Python instead: the rule may keep
        the row (``SET_DEFAULT``), ``--plan`` counts what each rule does, or the key set is
        past :data:`SQL_KEYS_LIMIT`. Rows that a rule keeps with NULL are not filtered.
        Other key sets go to the database (:class:`.databases.KeysIn`; on MySQL in
        batches, see ``rows``).
        """
        model = model._meta.concrete_model
        pulls = self.plan.pulls(model, strategy)
        for ref in self.graph.references.get(model, ()):
            if ref in pulls or ref.target in self.complete or not self._settled(ref):
                continue
            rule = self.rule(ref, strategy)
            if rule.action in ("keep", "null"):
                continue
            keys = self.keyset(ref.target, ref.target_field)
            # MySQL splits only a restriction every row must meet: one that lets NULL
            # through goes whole, so it must fit one query.
            limit = (
                databases.MYSQL_KEYS_PER_QUERY
                if ref.field.null and connections[self.database].vendor == "mysql"
                else SQL_KEYS_LIMIT
            )
            sql = rule.action == "drop" and len(keys) <= limit and not self.dry_run
            yield ref, (keys if sql else None)

    def restrict(
        self, queryset: QuerySet, model: type[Model], strategy: Strategy | None = None
    ) -> QuerySet:
        """Filter ``queryset`` in SQL by the references that drop rows whose target is missing.

        The foreign keys' indexes then find the rows, so a subset costs time in
        proportion to the rows it selects, not to the size of the tables.
        """
        for ref, keys in self._restrictions(model, strategy):
            if keys is not None:
                condition = Q(databases.KeysIn(F(ref.attname), keys))
                if ref.field.null:
                    condition |= Q(**{f"{ref.attname}__isnull": True})
                queryset = queryset.filter(condition)
        for ref in self.plan.sampled_children(model._meta.concrete_model):
            children = ref.model._base_manager.using(queryset.db).values(ref.attname)
            queryset = queryset.exclude(**{f"{ref.target_field}__in": children})
        return queryset

    def columns(self, model: type[Model]) -> list[str]:
        """The columns fetched for rows of ``model``: every stored one of its own table."""
        return [f.attname for f in stored_fields(model._meta.concrete_model)]

    def rows(
        self, queryset: QuerySet, columns: Sequence[str], whole: bool = False
    ) -> Iterator[Values]:
        """The rows of ``queryset`` as tuples of ``columns``, streamed in chunks; ``whole``:
        in the queryset's order from its first row, never in batches of keys."""
        if connections[queryset.db].vendor == "mysql":
            # Each query streams as it arrives; fewer, larger ones cost fewer round trips
            # and re-send a restriction's IN list less often.
            for batch in [queryset] if whole else databases.key_batches(queryset):
                yield from databases.stream_mysql(batch, columns, 10 * CHUNK_SIZE)
        else:
            yield from queryset.values_list(*columns).iterator(chunk_size=CHUNK_SIZE)

    def _generic_target(
        self, content_type: Any, object_id: Any
    ) -> tuple[type[Model] | None, Any] | None:
        """The model and primary key a generic foreign key points at (``None`` if null)."""
        if content_type is None or object_id is None:
            return None
        target = self.content_type_model(content_type)
        if target is None:
            return target, object_id
        try:
            return target, target._meta.pk.to_python(object_id)
        except ValidationError:
            return None, object_id

    def _allowed(self, values: Values, rules: IndexedRules) -> bool:
        """Whether a row that passed ``rules.checks`` may be written, noting what it
        still needs (``pending``) and brings (``pulls``)."""
        for content_type, object_id, waiting in rules.generic:
            pointed = self._generic_target(values[content_type], values[object_id])
            if pointed is None:
                continue
            target, object_id = pointed
            if target is None:
                return False
            if object_id in self.keyset(target) or target in self.complete:
                # Every row of a whole target is exported: this one is not in the source
                # either, and the row stays as production has it.
                continue
            if target not in rules.growing:
                rules.growing[target] = self.may_grow(target)
            if not rules.growing[target]:
                return False
            waiting.add((target, object_id))
        for index, keys, waiting in rules.pending:
            value = values[index]
            if value is not None and value not in keys:
                waiting.add(value)
        for index, keys, request in rules.pulls:
            value = values[index]
            if value is not None and value not in keys:
                request.add(value)
        return True

    # Writing --------------------------------------------------------------------

    def _write(
        self,
        model: type[Model],
        queryset: QuerySet,
        out: TextIO,
        rules: RowRules,
        bar: Progress,
        source: str,
        anonymise: bool,
        low: int = 0,
        high: int | None = None,
    ) -> int:
        """Write the rows that keep references intact, from the ``low``-th to the ``high``-th."""
        columns = self.columns(model)
        serializer = RowSerializer(model, columns, self.database, self.natural)
        anonymisers = (
            self.anonymisation.for_model(model, credentials_only=not anonymise)
            if self.anonymise
            else {}
        )
        indexed = rules.indexed(columns)
        checks = indexed.checks
        own_keys = self.keyset(model)
        pk = columns.index(model._meta.pk.attname)
        serialize, write = serializer.serialize, out.write
        allowed = self._allowed if indexed.generic or indexed.pending or indexed.pulls else None
        following = indexed.following
        resolution = derived.Resolution(self.database, following) if following else None
        if (
            self.settings.copy_export
            and not (anonymisers or checks or allowed or resolution or low or high)
            and not (own_keys or indexed.children or serializer.natural_keys)
            # Two queries must select the same rows: a slice might not.
            and not queryset.query.is_sliced
            and connections[queryset.db].vendor == "postgresql"
            and (lines := copy_export.line_sql(queryset, model, columns)) is not None
            and all(columns[index] in lines.values for index, _ in indexed.keys)
        ):
            return self._copy(model, queryset, columns, lines, out, indexed, bar)
        written = selected = 0
        # Closed when the loop ends early, so the database cursor goes at once.
        # A sample taken here counts from the first row of all: one query, not batches.
        rows = self.rows(queryset, columns, whole=bool(low) or high is not None)
        try:
            for values in rows:
                changes = None
                if checks and any(
                    (value := values[index]) is not None and value not in keys
                    for index, keys, _, _ in checks
                ):
                    changes = self._apply_rules(values, checks)
                    if changes is None:
                        continue
                    values = changes[0]
                selected += 1
                if selected <= low:
                    continue
                if high is not None and selected > high:
                    break
                if values[pk] in own_keys or (allowed and not allowed(values, indexed)):
                    continue
                row = serialize(values)
                if anonymisers:
                    self.anonymisation.apply(serializer, values, row, anonymisers, source)
                write(encode(row))
                if changes:
                    self.affected.update(changes[1])
                for index, keys in indexed.keys:
                    keys.add(values[index])
                for child_keys, request in indexed.children:
                    if values[pk] not in child_keys:
                        request.add(values[pk])
                if resolution:
                    resolution.add(values)
                written += 1
                if not written % CHUNK_SIZE:
                    bar.update(CHUNK_SIZE)
        finally:
            rows.close()
            bar.update(written % CHUNK_SIZE)
        if resolution:
            resolution.finish()
        return written

    def _copy(
        self,
        model: type[Model],
        queryset: QuerySet,
        columns: Sequence[str],
        lines: copy_export.Lines,
        out: TextIO,
        indexed: IndexedRules,
        bar: Progress,
    ) -> int:
        """:meth:`_write` by PostgreSQL's ``COPY``: the lines, with the keys of their rows.

        A table read whole is split between the snapshot's jobs
        (:func:`.copy_export.parts`): the first part goes to ``out`` here, the others to
        files of their own on worker threads, appended to ``out`` in order.
        """
        written = 0
        # Workers hand their keys on as they go, so that memory stays flat.
        handing_on = threading.Lock()

        def add(rows: int, by_key: list[list[Any]]) -> None:
            nonlocal written
            with handing_on:
                for (_, keyset), values in zip(indexed.keys, by_key, strict=True):
                    keyset.add_serialised(values)
                written += rows
                bar.update(rows)

        key_columns = [columns[index] for index, _ in indexed.keys]

        def copy(part: QuerySet, to: TextIO) -> None:
            copy_export.copy_lines(part, columns, lines, key_columns, to, add, 10 * CHUNK_SIZE)

        parts = copy_export.parts(queryset, columns, self.snapshot.jobs)
        if len(parts) == 1:
            copy(queryset, out)
        else:
            _copy_parts(self.snapshot, parts, out, copy)
        how = f" in {len(parts)} parts" if len(parts) > 1 else ""
        self.reporter.detail(f"{model_label(model)}: {written:,} rows written by COPY{how}")
        return written

    def _apply_rules(
        self, values: Values, checks: Sequence[tuple[int, KeySet, Reference, rules.Rule]]
    ) -> tuple[Values, list[tuple[Reference, str]]] | None:
        """``values`` as the rules of its failed checks leave them, with what each rule did;
        ``None`` if one drops the row."""
        changed = list(values)
        done = []
        for index, keys, ref, rule in checks:
            value = values[index]
            if value is None or value in keys:
                continue
            changed[index] = rule.apply(keys)
            if changed[index] is rules.DROP:
                self.affected[ref, "drop"] += 1
                return None
            done.append((ref, rule.action))
        return tuple(changed), done

    def export_queryset(
        self, strategy: Exportable, queryset: QuerySet, model: type[Model], no_update: bool
    ) -> int:
        """Write the rows of ``queryset`` that keep references intact; return how many."""
        concrete = model._meta.concrete_model
        label = model_label(concrete)
        rules = self.rules(concrete, strategy)
        if no_update:
            existing = strategy.existing_data_file(self.dest, label)
            if existing is not None:
                rows = self.adopt_file(concrete, existing, rules)
                self.kept.add(concrete)
                shown = self.stage.shown(existing)
                self.reporter.info(f"{label} ({strategy.name}): kept {shown} ({rows:,} rows)")
                return rows
        total = queryset.count()
        # A sample counts only rows that keep references intact: where SQL cannot check
        # them all, the slice is taken here, after the checks.
        low, high = 0, None
        if queryset.query.is_sliced and any(
            k is None for _, k in self._restrictions(concrete, strategy)
        ):
            low, high = queryset.query.low_mark, queryset.query.high_mark
            queryset = queryset.all()
            queryset.query.clear_limits()
        path = strategy.data_file(self.dest, label)
        with (
            atomic_writer(path) as out,
            self.reporter.progress(f"{label} ({strategy.name})", total) as bar,
        ):
            written = self._write(
                concrete,
                queryset,
                out,
                rules,
                bar,
                strategy.name,
                getattr(strategy, "anonymise", True),
                low,
                high,
            )
        if not written:
            self.reporter.warn(f"strategy {strategy.name!r} for {label} selected no rows")
        return written

    def pull(self, model: type[Model]) -> int:
        """Fetch and write the rows of ``model`` that pulled references ask for."""
        label = model_label(model)
        written = 0
        while outstanding := self._outstanding(model):
            rules = self.rules(model, None)
            out = self.pulled_files.writer(model, label)
            total = sum(len(values) for _, values in outstanding)
            with self.reporter.progress(f"{label} (pulled)", total) as bar:
                for attname, values in outstanding:
                    self.asked.setdefault((model, attname), set()).update(values)
                    manager = model._base_manager.using(self.database)
                    for chunk in _chunks(sorted(values, key=repr), PULL_CHUNK_SIZE):
                        rows = manager.filter(**{f"{attname}__in": chunk})
                        written += self._write(
                            model,
                            rows,
                            out,
                            rules,
                            bar,
                            "pulled",
                            True,
                        )
        return written

    def wants_rows(self, model: type[Model]) -> bool:
        """Whether rows of ``model`` are asked for that are neither exported nor asked yet."""
        return any(
            requested is model
            and any(
                v not in self.keyset(model, attname)
                and v not in self.asked.get((model, attname), ())
                for v in values
            )
            for (requested, attname), values in self.requests.items()
        )

    def _outstanding(self, model: type[Model]) -> list[tuple[str, set[Any]]]:
        """Requested values of ``model``'s keys that are neither exported nor asked for yet."""
        result = []
        for (requested, attname), values in self.requests.items():
            if requested is model and values:
                keys = self.keyset(model, attname)
                asked = self.asked.get((model, attname), set())
                missing = {v for v in values if v not in keys and v not in asked}
                values.clear()
                if missing:
                    result.append((attname, missing))
        return result

    def adopt_file(self, model: type[Model], path: Path, rules: RowRules | None = None) -> int:
        """Take the keys of an existing export file as if this run had written it.

        With ``rules``, the rows' pulled references ask for their rows as written ones do.
        """
        rows = 0
        key_sets = [
            (self.keyset(model, name), field_name(model, name)) for name in self.key_fields(model)
        ]
        pulls = []
        if rules is not None:
            by_attname = {ref.attname: ref for ref in self.graph.references.get(model, ())}
            pulls = [
                (field_name(model, attname), by_attname[attname].field, keys, request)
                for attname, keys, request in rules.pulls
            ]
        for _, row in read_rows(path, model):
            rows += 1
            for keys, name in key_sets:
                keys.add_serialised([serialised(row, name)])
            for name, field, keys, request in pulls:
                value = serialised(row, name)
                if value is not None and (value := field.to_python(value)) not in keys:
                    request.add(value)
        for follow in rules.following if rules is not None else ():
            resolution = derived.Resolution(
                self.database, [(tuple(range(len(follow.reference.columns))), follow)]
            )
            for _, values in column_values(path, model, follow.reference.columns):
                resolution.add(values)
            resolution.finish()
        return rows


class PulledFiles:
    """The files of pulled rows, one per model, written into the staged export."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self._open: dict[type[Model], tuple[Path, TextIO]] = {}

    def writer(self, model: type[Model], label: str) -> TextIO:
        if model not in self._open:
            path = pulled_file(self.dest, label)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._open[model] = (path, path.open("w", encoding="utf-8"))
        return self._open[model][1]

    def close(self) -> None:
        """Close the files; one that took no rows goes, so the import has nothing to load."""
        for path, out in self._open.values():
            out.close()
            if not path.stat().st_size:
                path.unlink()
        self._open.clear()


def _bringers(plan: ExportPlan) -> dict[type[Model], set[type[Model]]]:
    """Per model, the models whose rows may bring rows of it, directly or in turn: through
    pulls, and parents bringing their child rows (multi-table inheritance)."""
    brings: dict[type[Model], set[type[Model]]] = {
        m: {ref.target for s in plan.sources(m) for ref in plan.pulls(m, s)}
        | {ref.model for ref in plan.children(m)}
        | {d.target._meta.concrete_model for d in plan.derived.get(m, []) if d.rule == "pull"}
        for m in plan.order
    }
    result: dict[type[Model], set[type[Model]]] = {}
    for start, direct in brings.items():
        seen, todo = set(), list(direct)
        while todo:
            model = todo.pop()
            if model not in seen:
                seen.add(model)
                todo.extend(brings.get(model, ()))
        for model in seen:
            result.setdefault(model, set()).add(start)
    return result


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def keys_from_files(dest: Path, model: type[Model], attname: str | None = None) -> KeySet:
    """The keys of ``model`` in the export at ``dest``, read from its files."""
    model = model._meta.concrete_model
    attname = attname or model._meta.pk.attname
    name = field_name(model, attname)
    keys = KeySet(field_by_attname(model, attname))
    directory = Path(dest) / model_label(model)
    for path in sorted(directory.glob("*.json*")) if directory.is_dir() else ():
        if path.suffix in (".json", ".jsonl"):
            keys.add_serialised(serialised(row, name) for _, row in read_rows(path, model))
    return keys


def current_run() -> ExportRun:
    """The export in progress; only strategies running under ``devdata_export`` have one."""
    run = _current.get()
    if run is None:
        raise DevdataError("no devdata export is running: strategies export through devdata_export")
    return run


def exported_keys(dest: Path, model: type[Model], attname: str | None = None) -> KeySet:
    """Keys of ``model`` in the export at ``dest`` (the running one, if it is that).

    The primary keys, or the values of field ``attname`` that other rows reference.
    """
    run = _current.get()
    if run is not None and Path(dest) == run.dest:
        return run.keyset(model, attname)
    return keys_from_files(dest, model, attname)


def get_exported_pks_for_model(dest: Path, model: type[Model]) -> list[Any]:
    """Primary keys of ``model`` exported to ``dest``, as django-devdata 1.x offered them."""
    return list(exported_keys(dest, model))


@contextmanager
def _running(run: ExportRun) -> Iterator[ExportRun]:
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)


def export(
    database: str,
    dest: Path,
    settings: DevdataSettings,
    reporter: Reporter,
    only: Sequence[type[Model]] = (),
    no_update: bool = False,
    dry_run: bool = False,
    serializable: bool = False,
    jobs: int = 1,
) -> RunSummary:
    """Export every configured model (or only ``only``) from ``database`` into ``dest``.

    Everything is read from one snapshot of ``database`` (:mod:`.snapshot`;
    ``serializable`` for PostgreSQL's strictest; ``jobs`` connections sharing it where the
    database allows). The export is written beside ``dest``
    and put in its place with its manifest only once complete
    (:mod:`devdata_core.staging`); strategies, extras and hooks see the staging
    directory as ``dest``. A ``dry_run`` (``--plan``) selects the same rows but neither
    anonymises them nor calls the lifecycle hooks: it only counts.
    """
    plan = export_plan(settings)
    models = [m for m in plan.order if not only or m in only]
    started = _now()
    with staging.staged(dest) as stage:
        work = stage.path
        if only or no_update:
            _keep_previous(stage, models, no_update, reporter)
        run = ExportRun(database, stage, plan, models, reporter, dry_run=dry_run)

        def notify(hook: str, **kwargs: Any) -> None:
            if not dry_run:
                plugins.call_hook(hook, database=database, dest=work, **kwargs)

        if serializable and (ignored := snapshot.serializable_ignored(database)):
            reporter.warn(ignored)
        if refused := snapshot.jobs_refused(database, jobs):
            reporter.warn(refused)
        with snapshot.open_snapshot(database, serializable, jobs) as run.snapshot, _running(run):
            schema.export_migration_state(database, work)
            try:
                notify("devdata_before_export", models=models)
                for model in models:
                    _export_model(run, model, no_update, notify)
                # Pulls that went against the order (cycles, inheritance) are fetched now.
                while any(run.wants_rows(m) for m in models):
                    for model in models:
                        run.summary.add(model_label(model), run.pull(model))
                for extra in settings.extra_strategies:
                    if isinstance(extra, ExtraExport):
                        guard(
                            f"exporting extra {extra.name!r}",
                            extra.export_data,
                            database,
                            work,
                            no_update,
                            run.log,
                        )
                run.pulled_files.close()
                pruning.prune(run)
                summary = run.summary.finish()
                summary.affected = {
                    (str(ref), action): rows for (ref, action), rows in run.affected.items()
                }
                notify("devdata_after_export", summary=summary)
            finally:
                run.pulled_files.close()
        audited = _audit(run, reporter)
        manifest.write(work, _manifest(database, settings, work, started, plan.order, audited))
        stage.commit(reporter.info)
    return summary


def _audit(run: ExportRun, reporter: Reporter) -> dict[str, Any]:
    """Run the leak audit over the staged export: warn of each column it finds, and under
    ``DEVDATA_PII_STRICT`` fail before the export replaces the previous one."""
    if run.audit is None:
        return audit.OFF
    result = run.audit.check(run.dest)
    for finding in result.findings:
        reporter.warn(finding.message())
    if result.findings and run.settings.pii_strict:
        more = len(result.findings) - 1
        raise DevdataError(
            f"{result.findings[0].message()}{f' (and {more} more columns)' if more else ''}: "
            "anonymise the column, or keep() it if it holds these values on purpose "
            "(DEVDATA_PII_STRICT is on); the previous export was left as it was"
        )
    if not result.findings:
        reporter.detail(
            f"audit: no value anonymised in this export is found elsewhere in it "
            f"({result.terms:,} terms, {result.columns} columns checked)"
        )
    return result.record()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _manifest(
    database: str,
    settings: DevdataSettings,
    root: Path,
    started: str,
    models: Sequence[type[Model]],
    audited: dict[str, Any],
) -> Manifest:
    connection = connections[database]
    return Manifest(
        format_version=manifest.FORMAT_VERSION,
        versions=plugins.versions(),
        source={"vendor": connection.vendor, "database": str(connection.settings_dict["NAME"])},
        started=started,
        finished=_now(),
        settings=manifest.fingerprint(settings),
        entries=tuple(manifest.describe_file(root, name) for name in manifest.file_names(root)),
        migrations=layout.MIGRATIONS,
        anonymisation=_anonymisation_record(settings, models, audited),
    )


def _anonymisation_record(
    settings: DevdataSettings, models: Sequence[type[Model]], audited: dict[str, Any]
) -> dict[str, Any]:
    """The manifest's record of anonymisation: the anonymiser of each field of ``models``
    (by its factory's name, or ``keep``), the key's public id (never the key) and the leak
    audit's result."""
    fields = {}
    for model in models:
        anonymisers = settings.anonymisers_for(model)
        if anonymisers:
            fields[model._meta.label] = {
                name: "keep" if is_kept(a) else manifest.anonymiser_name(a)
                for name, a in sorted(anonymisers.items())
            }
    return {"key_id": key_id(settings.anonymisation_key), "fields": fields, "audit": audited}


def _keep_previous(
    stage: staging.Stage, models: Sequence[type[Model]], no_update: bool, reporter: Reporter
) -> None:
    """Start from the files of the export at ``dest`` that still match its manifest.

    Exporting only some models keeps the files of the others; ``--no-update`` keeps
    those of the exported models too. Pulled rows and the migration state are taken
    again; files of an export without a manifest are kept unverified.
    """
    dest = stage.dest
    if not dest.is_dir():
        return
    previous = manifest.read(dest)
    taken = {model_label(m) for m in models}
    names = (
        [entry.name for entry in previous.entries]
        if previous is not None
        else manifest.file_names(dest)
    )
    if previous is None and names:
        reporter.warn(f"{dest} has no {layout.MANIFEST}: its files are kept unverified")
    by_name = {entry.name: entry for entry in previous.entries} if previous else {}
    for name in names:
        label = name.rpartition("/")[0]
        if name == layout.MIGRATIONS or name.endswith(layout.PARTIAL_SUFFIX):
            continue
        # Files this run writes again are not kept: a strategy or extra (names without a
        # directory) that writes in place would otherwise write through the link into
        # the previous export.
        exported_again = label in taken or not label
        if exported_again and (not no_update or name == layout.pulled_name(label)):
            continue
        if previous is not None:
            found = manifest.problem(dest, by_name[name])
            if found and not exported_again:
                raise DevdataError(
                    f"{found}, and this run does not export {label}: export it too (or "
                    "everything); nothing was written"
                )
            if found:
                reporter.warn(f"{found}: not kept, exported again")
                continue
        staging.link_or_copy(dest / name, stage.path / name)


def _copy_parts(
    shared: snapshot.Snapshot,
    parts: Sequence[QuerySet],
    out: TextIO,
    copy: Callable[[QuerySet, TextIO], None],
) -> None:
    """``copy`` the first of ``parts`` to ``out`` here and each other to a file of its own
    on a worker sharing the snapshot, then append those files to ``out`` in order."""
    files = [
        Path(out.name).with_suffix(f".{number}{layout.PARTIAL_SUFFIX}")
        for number in range(1, len(parts))
    ]

    def to_file(part: QuerySet, path: Path) -> None:
        with path.open("w", encoding="utf-8") as part_file:
            copy(part, part_file)

    try:
        shared.side_by_side(
            [
                partial(copy, parts[0], out),
                *(
                    partial(to_file, part, path)
                    for part, path in zip(parts[1:], files, strict=True)
                ),
            ]
        )
        for path in files:
            with path.open("rb") as part_file:
                shutil.copyfileobj(part_file, out.buffer)  # type: ignore[attr-defined]
    finally:
        for path in files:
            path.unlink(missing_ok=True)


def _export_model(
    run: ExportRun, model: type[Model], no_update: bool, notify: Callable[..., None]
) -> None:
    label = model_label(model)
    strategies = run.strategies(model)
    notify("devdata_before_export_model", model=model, strategies=strategies)
    before_model = len(run.keyset(model))
    for strategy in strategies:
        if not isinstance(strategy, Exportable):
            continue
        before = len(run.keyset(model))
        guard(
            f"exporting {label} with strategy {strategy.name!r}",
            strategy.export_data,
            run.database,
            run.dest,
            model,
            no_update,
            run.log,
        )
        if len(run.keyset(model)) == before:
            # A strategy that writes its own file: take its keys from what it wrote.
            path = strategy.existing_data_file(run.dest, label)
            if path is not None:
                run.adopt_file(model, path, run.rules(model, strategy))
    run.pull(model)
    run.done.add(model)
    rows = len(run.keyset(model)) - before_model
    if model._base_manager.using(run.database).count() == len(run.keyset(model)):
        run.complete.add(model)
    run.summary.add(label, rows)
    notify("devdata_after_export_model", model=model, rows=rows)
