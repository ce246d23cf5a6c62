"""The import engine: checks the export, resets the database, builds the schema and loads.

Everything after the schema happens in one transaction: a failed import leaves no
half-loaded data. With ``--jobs``, models whose files load as they are go in worker
processes instead, each file in a transaction of its own (:mod:`.parallel`), only where
the reset mode builds a new database beside the old one, which a failure drops.

The export is verified against its manifest and every value checked before the reset,
so that a missing, changed or corrupt file, or a value the database would refuse, is
reported while the old database is still there.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.color import no_style
from django.core.serializers.base import DeserializedObject
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Model, Q, UniqueConstraint

from . import databases, layout, locks, manifest, plugins, schema, staging
from .errors import DataFileError, DevdataError, describe, guard
from .extras import ExtraImport
from .graph import strategy_graph
from .keys import KeySet
from .loading import (
    TableLoader,
    can_copy,
    insert_locating,
    needs_instances,
    refused_row,
)
from .migration_rows import MigrationRows
from .parallel import Workers, check_files
from .plan import ExportPlan, export_plan, pulled_file
from .reporting import Reporter, RunSummary
from .reset_modes import Reset
from .serialization import NaturalKeys, Row, deserialize, read_rows, stored_fields
from .settings import NATURAL_KEY_MODELS, DevdataSettings, candidate_models, model_label
from .strategies import Exportable

#: Rows per INSERT statement of instances (fewer where the database limits parameters).
BATCH_SIZE = 1000

_current: ContextVar[ImportRun | None] = ContextVar("devdata_import_run", default=None)


@dataclass
class ImportRun:
    """The state of one ``devdata_import``."""

    database: str
    src: Path
    reporter: Reporter
    #: Rows per export file, counted by the check before the reset.
    rows_in_file: dict[Path, int]
    plan: ExportPlan
    #: Models loaded so far, in order.
    imported: list[type[Model]] = field(default_factory=list)
    #: Rows per model skipped because a natural key they use has no row here.
    unmatched: dict[type[Model], int] = field(default_factory=dict)
    #: What a failure leaves behind, appended to its message.
    consequence: str = "; nothing was imported"
    summary: RunSummary = field(default_factory=lambda: RunSummary("Imported"))
    #: Primary keys loaded by this run, per model: a row seen twice is loaded once.
    loaded: dict[type[Model], KeySet] = field(default_factory=dict)
    #: Models whose table held rows before this run loaded any (made by migrations).
    prefilled: dict[type[Model], bool] = field(default_factory=dict)
    #: Called with the number of rows each insert loads, to move the progress bar.
    advance: Callable[[int], Any] = lambda rows: None
    #: Rows that building the schema made, removed where the export does not hold them.
    migration_rows: MigrationRows | None = None
    #: The worker processes loading some models' files (``--jobs``), if any.
    workers: Workers | None = None

    def loaded_keys(self, model: type[Model]) -> KeySet:
        concrete = model._meta.concrete_model
        if concrete not in self.loaded:
            self.loaded[concrete] = KeySet(concrete._meta.pk)
        return self.loaded[concrete]

    def prefilled_table(self, model: type[Model]) -> bool:
        """Whether ``model``'s table held rows before this run loaded any (made by migrations)."""
        concrete = model._meta.concrete_model
        if concrete not in self.prefilled:
            self.prefilled[concrete] = concrete._base_manager.using(self.database).exists()
        return self.prefilled[concrete]


def current_run() -> ImportRun:
    run = _current.get()
    if run is None:
        raise DevdataError("no devdata import is running: strategies import through devdata_import")
    return run


def check_export(src: Path, plan: ExportPlan, database: str, jobs: int = 1) -> dict[Path, int]:
    """Read every file the import needs and check its values against the columns of
    ``database`` (without connecting to it); return the files' row counts, or say what
    is wrong (the first fault in the order of the files). ``jobs``: processes that check
    at once (:func:`.parallel.check_files`)."""
    if not src.is_dir():
        problem = "is a file, not a directory" if src.exists() else "does not exist"
        raise DataFileError(
            f"export directory {src} {problem}: run devdata_export first, or pass the "
            "directory or archive that holds the export"
        )
    files: list[tuple[type[Model], Path]] = []
    missing = None
    for model in plan.order:
        label = model_label(model)
        for strategy in plan.strategies(model):
            if not isinstance(strategy, Exportable):
                continue
            path = strategy.existing_data_file(src, label)
            if path is None:
                missing = DataFileError(
                    f"{strategy.data_file(src, label)} is missing (strategy {strategy.name!r} of "
                    f"{label}): export it with devdata_export, or remove the strategy"
                )
                break
            files.append((model, path))
        if missing:
            break
        pulled = pulled_file(src, label)
        if pulled.is_file():
            files.append((model, pulled))
    # The files before a missing one are checked first: their faults come first.
    counts = check_files(files, database, plan.natural_columns, jobs)
    if missing:
        raise missing
    return counts


def read_objects(path: Path, database: str) -> Iterator[DeserializedObject]:
    """Instances from an export file (``.jsonl``, or a 1.x ``.json`` array)."""
    return deserialize(_with_dev_keys(read_rows(path)), path, database)


def load_file(model: type[Model], path: Path, database: str) -> int:
    """Insert the rows of an export file into ``model``'s table; return how many.

    The same as :func:`load_objects` over :func:`read_objects`, without building
    instances: ``COPY`` on PostgreSQL, multi-row inserts elsewhere. A table that
    migrations filled, or whose columns need Django's own insert, goes through
    :func:`load_objects`.
    """
    run = current_run()
    concrete = model._meta.concrete_model

    def rows() -> Iterator[tuple[int, Row]]:
        return _with_dev_keys(read_rows(path, concrete), concrete)

    if run.prefilled_table(concrete) or needs_instances(concrete):
        return load_objects(concrete, deserialize(rows(), path, database), database)
    loader = TableLoader(concrete, database, path, run.consequence)
    # Rows whose content type ids are read in the database cannot be read during a COPY.
    again = None if run.plan.natural_columns.get(concrete) else rows
    count, unmatched = loader.load(rows(), run.loaded_keys(concrete), run.advance, again)
    if unmatched:
        run.unmatched[concrete] = run.unmatched.get(concrete, 0) + unmatched
    return count


def _with_dev_keys(
    rows: Iterator[tuple[int, Row]], model: type[Model] | None = None
) -> Iterator[tuple[int, Row]]:
    """The rows of one model's file, with the natural keys in its plain columns that
    hold content type ids (``ExportPlan.natural_columns``) made this database's keys,
    read from its rows as they are now. A row whose key has no row here is left out, as
    rows with such foreign keys are. ``model``: the file's, if known (else its first row's).
    """
    run = _current.get()
    first = next(rows, None)
    if first is None:
        return
    columns = None
    if run is not None and run.plan.natural_columns:
        if model is None:
            # An unknown model: the deserializer names it.
            with contextlib.suppress(LookupError, ValueError):
                model = apps.get_model(first[1]["model"])._meta.concrete_model
        columns = run.plan.natural_columns.get(model)
    if not columns:
        yield first
        yield from rows
        return
    natural = NaturalKeys(run.database, set(columns.values()))
    names = [(model._meta.get_field(attname).name, target) for attname, target in columns.items()]
    for number, row in itertools.chain([first], rows):
        fields = row["fields"]
        for name, target in names:
            key = fields.get(name)
            if isinstance(key, list):
                fields[name] = natural.key_of(target, key)
                if fields[name] is None:
                    run.unmatched[model] = run.unmatched.get(model, 0) + 1
                    break
        else:
            yield number, row


def load_objects(model: type[Model], objects: Iterable[DeserializedObject], database: str) -> int:
    """Insert ``objects`` into ``model``'s table as they are, in batches; return how many.

    Values are written raw (``auto_now`` fields keep their exported values, no signals
    are sent). A row whose key is already loaded by this run is skipped; a row of the
    fresh database with the same key or unique value (one made by migrations, such
    as a default ``Site``) is replaced.
    """
    run = current_run()
    concrete = model._meta.concrete_model
    loaded = run.loaded_keys(concrete)
    fields = stored_fields(concrete)
    limit = connections[database].ops.bulk_batch_size(fields, [None] * BATCH_SIZE)
    batch_size = max(1, min(BATCH_SIZE, limit or BATCH_SIZE))
    count = 0
    # Instances by key, with where they come from (``path:line``, if known).
    batch: dict[Any, tuple[Model, str | None]] = {}
    for deserialized in objects:
        if deserialized.deferred_fields:
            run.unmatched[concrete] = run.unmatched.get(concrete, 0) + 1
            continue
        obj = deserialized.object
        if obj.pk in loaded or obj.pk in batch:
            continue
        batch[obj.pk] = (obj, getattr(deserialized, "origin", None))
        if len(batch) >= batch_size:
            count += _insert(run, concrete, list(batch.values()), fields, database)
            batch = {}
    if batch:
        count += _insert(run, concrete, list(batch.values()), fields, database)
    return count


def _insert(
    run: ImportRun,
    model: type[Model],
    rows: list[tuple[Model, str | None]],
    fields: Sequence[Any],
    database: str,
) -> int:
    """Insert instances, each with where it comes from, to name it if the database refuses it."""
    batch = [obj for obj, _ in rows]
    manager = model._base_manager.using(database)
    loaded = run.loaded_keys(model)
    if run.prefilled_table(model):
        clashing = manager.filter(_clash_filter(model, batch)).values_list("pk", flat=True)
        replace = [pk for pk in clashing if pk not in loaded]
        if replace:
            # A row with the same key is replaced in place: rows referencing it stay (the
            # foreign keys are checked at the end). One that shares only a unique value
            # goes, with the rows that reference it.
            same_key = {obj.pk for obj in batch}
            manager.filter(pk__in=[pk for pk in replace if pk in same_key])._raw_delete(database)
            manager.filter(pk__in=[pk for pk in replace if pk not in same_key]).delete()

    def insert(some: Sequence[tuple[Model, str | None]]) -> None:
        manager._insert([obj for obj, _ in some], fields=fields, using=database, raw=True)

    def refused(row: tuple[Model, str | None], exc: DatabaseError) -> DataFileError:
        obj, origin = row
        return refused_row(origin, model, obj.pk, exc, run.consequence)

    insert_locating(database, rows, insert, refused)
    for obj in batch:
        loaded.add(obj.pk)
    run.advance(len(batch))
    return len(batch)


def _unique_field_sets(model: type[Model]) -> list[tuple[str, ...]]:
    opts = model._meta
    sets = [(f.attname,) for f in opts.local_concrete_fields if f.unique and not f.primary_key]
    sets += [tuple(opts.get_field(n).attname for n in names) for names in opts.unique_together]
    sets += [
        tuple(opts.get_field(n).attname for n in c.fields)
        for c in opts.constraints
        if isinstance(c, UniqueConstraint) and c.fields and c.condition is None
    ]
    return sets


def _clash_filter(model: type[Model], batch: list[Model]) -> Q:
    """Rows with the primary key or a unique value of a row in ``batch``."""
    clash = Q(pk__in=[obj.pk for obj in batch])
    for names in _unique_field_sets(model):
        for obj in batch:
            values = {name: getattr(obj, name) for name in names}
            if None not in values.values():
                clash |= Q(**values)
    return clash


@contextmanager
def _running(run: ImportRun) -> Iterator[ImportRun]:
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)


def verify_export(
    src: Path,
    plan: ExportPlan,
    database: str,
    reporter: Reporter,
    hashed: bool = False,
    jobs: int = 1,
) -> tuple[manifest.Manifest | None, dict[Path, int]]:
    """Everything the import checks before it touches a database; raises on the first fault.

    Returns the export's manifest (``None`` for an export without one, after a warning)
    and the rows of each file it will load. Values are checked against ``database``'s
    columns without connecting to it, by ``jobs`` processes. ``hashed``: see
    :func:`.manifest.verify`.
    """
    verified = manifest.verify(src, reporter.warn, hashed)
    rows_in_file = check_export(src, plan, database, jobs)
    manifest.warn_unread(src, verified, rows_in_file, reporter.warn)
    for extra in plan.settings.extra_strategies:
        if isinstance(extra, ExtraImport):
            extra.check_data(src)
    return verified, rows_in_file


def run_import(
    database: str,
    src: Path,
    settings: DevdataSettings,
    reset: Reset,
    reporter: Reporter,
    schema_mode: schema.SchemaMode = "migrations",
    confirm: Callable[[], None] = lambda: None,
    hashed: bool = False,
    jobs: int = 1,
) -> RunSummary:
    """Check the export at ``src``, reset ``database`` with ``reset`` and load the export.

    ``confirm`` is called after the export checks out and the import lock is taken,
    before anything is destroyed; it raises to abort. The reset mode's ``prepared``
    wraps schema and load: a mode may build them beside the old database and swap.
    ``hashed``: see :func:`.manifest.verify`. ``jobs``: processes that check files at
    once, and load them where the database allows (see :func:`_possible_jobs`).
    """
    plan = export_plan(settings)
    # No export swaps ``src`` between its verification and the end of its load.
    with staging.reading(src):
        _, rows_in_file = verify_export(src, plan, database, reporter, hashed, jobs)
        source_state = schema.read_migration_state(src)
        with locks.one_import_at_a_time(database):
            confirm()
            with reset.prepared(database) as kept:
                run = ImportRun(database, src, reporter, rows_in_file, plan)
                if reset.destructive:
                    run.consequence += (
                        " and the old database is unchanged"
                        if kept
                        else f" and the database is empty (--reset-mode={reset.slug} reset it)"
                    )
                jobs = _possible_jobs(jobs, database, reset, kept, reporter)
                return _build_and_load(run, settings, schema_mode, source_state, jobs)


def _possible_jobs(jobs: int, database: str, reset: Reset, kept: bool, reporter: Reporter) -> int:
    """``jobs``, or 1 (after saying why) where loading in several transactions is not
    safe or not possible: a failure must leave the old database (``kept``, by a reset
    mode that builds beside it and swaps), and the workers load with PostgreSQL's COPY."""
    if jobs == 1:
        return jobs
    vendor = connections[database].vendor
    if vendor != "postgresql":
        why = f"parallel loading is for PostgreSQL, and {database!r} is {vendor}"
    elif not kept:
        why = (
            f"--reset-mode={reset.slug} does not build the new database beside the old one, "
            "which a failed parallel load needs to leave the old one as it was"
        )
    else:
        return jobs
    reporter.warn(f"--jobs {jobs}: loading in one job, as {why}")
    return 1


def _build_and_load(
    run: ImportRun,
    settings: DevdataSettings,
    schema_mode: schema.SchemaMode,
    source_state: set[tuple[str, str]] | None,
    jobs: int = 1,
) -> RunSummary:
    """Build the schema in the prepared database, and load the export in one transaction
    (but for what ``jobs`` worker processes load, see :func:`_workers`)."""
    database, src, reporter = run.database, run.src, run.reporter
    graph = strategy_graph(settings)
    # Rows that managers cache per process and alias (content types, which natural keys
    # resolve to) may be another database's: this one was just reset, and post_migrate
    # handlers read them too.
    _clear_cached_rows()
    run.migration_rows = MigrationRows(database, graph.order, settings.keep_migration_rows)
    schema.build_schema(database, schema_mode)
    _clear_cached_rows()
    run.migration_rows.schema_built()
    if source_state is None:
        reporter.warn(f"{src / layout.MIGRATIONS} is missing: cannot compare migration states")
    else:
        for app, difference in schema.migration_differences(source_state, database).items():
            reporter.warn(
                f"app {app!r} is at another migration state than the export's source: {difference}"
            )

    connection = connections[database]
    tables = [m._meta.db_table for m in graph.order]
    dropped: list[databases.ForeignKeyConstraint] = []
    if jobs > 1:
        # Committed, so that the workers' connections do not wait on the drop's locks.
        with transaction.atomic(using=database):
            dropped = databases.drop_foreign_keys(connection, tables)
    try:
        with _running(run), transaction.atomic(using=database):
            plugins.call_hook(
                "devdata_before_import", database=database, src=src, models=graph.order
            )
            # After the hook: a table it wrote to is locked by this transaction until the
            # end, which a worker would wait for while this one waits for the worker.
            handed_out = _handed_out(run, graph.order) if jobs > 1 else {}
            # Rows load in dependency order, but cycles and self-references still point
            # forward: foreign keys are checked once everything is in. SQLite defers its
            # checks to then; MySQL's cannot be deferred, so they are off while loading,
            # as loaddata does; PostgreSQL's are made again at the end.
            with (
                databases.foreign_keys_checked_at_end(connection, tables, dropped),
                _workers(run, handed_out, jobs),
            ):
                for model in graph.order:
                    _import_model(run, model)
                for extra in settings.extra_strategies:
                    if isinstance(extra, ExtraImport):
                        guard(
                            f"importing extra {getattr(extra, 'name', type(extra).__name__)!r}",
                            extra.import_data,
                            database,
                            src,
                            consequence=run.consequence,
                        )
            _reset_sequences(database, graph.order)
            connection.check_constraints(table_names=tables)
            for label, rows in sorted(run.summary.removed_by_model.items()):
                reporter.info(
                    f"{label}: removed {rows:,} {'row' if rows == 1 else 'rows'} that the dev "
                    "database's migrations made and the export does not hold"
                )
            summary = run.summary.finish()
            plugins.call_hook("devdata_after_import", database=database, src=src, summary=summary)
    except IntegrityError as exc:
        raise DataFileError(
            f"the export at {src} does not load intact ({describe(exc)}){run.consequence}"
        ) from exc
    return summary


def _handed_out(
    run: ImportRun, order: Sequence[type[Model]]
) -> dict[type[Model], list[tuple[Path, int]]]:
    """The files (with their rows) of the models that worker processes can load as
    :func:`load_file` would, by model: every strategy of the model loads its data file as it is (no
    factory), with ``COPY``, into a table of its own that migrations left empty, and no
    value needs this run's state (natural keys, rows loaded by another model)."""
    tables = Counter(m._meta.concrete_model for m in order)
    handed: dict[type[Model], list[tuple[Path, int]]] = {}
    for model in order:
        strategies = run.plan.strategies(model)
        if not (
            strategies
            and all(isinstance(s, Exportable) and s.loads_data_file for s in strategies)
            and model._meta.concrete_model is model
            and tables[model] == 1
            and can_copy(model, run.database)
            and not needs_instances(model)
            and not run.plan.natural_columns.get(model)
            and not any(
                f.is_relation
                and (
                    f.related_model._meta.label in NATURAL_KEY_MODELS
                    # Removing a row that migrations made may cascade to rows referencing
                    # it, which must not be in yet (see MigrationRows).
                    or run.prefilled_table(f.related_model)
                )
                for f in stored_fields(model)
            )
            and not run.prefilled_table(model)
        ):
            continue
        label = model_label(model)
        files = [s.existing_data_file(run.src, label) for s in strategies]
        pulled = pulled_file(run.src, label)
        files += [pulled] * pulled.is_file()
        handed[model] = [(f, run.rows_in_file[f]) for f in files if f is not None]
    return handed


@contextmanager
def _workers(
    run: ImportRun, files: dict[type[Model], list[tuple[Path, int]]], jobs: int
) -> Iterator[None]:
    """Load ``files`` in ``jobs`` worker processes while the block runs; it collects
    their results (:func:`_import_model`), all of them before it ends."""
    if not files:
        yield
        return
    with Workers(run.database, jobs, run.consequence) as workers:
        workers.load(files)
        run.workers = workers
        try:
            yield
        finally:
            run.workers = None
    run.reporter.detail(
        f"{len(files)} models loaded in {jobs} worker processes, in {workers.tasks} tasks "
        f"(peak memory of one: {workers.peak_rss // 1024:,} MiB)"
    )


def _import_model(run: ImportRun, model: type[Model]) -> None:
    """Load ``model``'s exported rows, then run its other strategies (factories).

    Strategies that create rows come last, after the model's sequence is moved past the
    loaded rows, so that the keys they get from the database do not clash.
    """
    label = model_label(model)
    strategies = run.plan.strategies(model)
    plugins.call_hook(
        "devdata_before_import_model",
        database=run.database,
        src=run.src,
        model=model,
        strategies=strategies,
    )
    exported = [s for s in strategies if isinstance(s, Exportable)]
    pulled = pulled_file(run.src, label)
    if run.workers is not None and run.workers.handles(model):
        names = [s.name for s in exported] + [layout.PULLED] * pulled.is_file()
        rows = _collect(run, model, names)
    else:
        rows = _load_here(run, model, exported, pulled)
    if (exported or pulled.is_file()) and run.migration_rows is not None:
        run.summary.removed_by_model.update(
            run.migration_rows.remove(model, run.loaded_keys(model))
        )
    if run.unmatched.get(model):
        run.reporter.warn(
            f"{label}: skipped {run.unmatched[model]:,} rows that reference content types or "
            "permissions this project does not have"
        )
    run.imported.append(model)
    others = [s for s in strategies if not isinstance(s, Exportable)]
    if others:
        if run.workers is not None:
            run.workers.wait()  # The rows they create may go in the workers' tables.
        # Rows they create (a factory's related rows too) get keys past the loaded ones.
        _reset_sequences(run.database, run.imported)
    for strategy in others:
        name = getattr(strategy, "name", "")
        rows += _step(run, model, name, None, strategy.import_data, creates=True)
    run.summary.add(label, rows)
    plugins.call_hook(
        "devdata_after_import_model", database=run.database, src=run.src, model=model, rows=rows
    )


def _load_here(run: ImportRun, model: type[Model], exported: list[Any], pulled: Path) -> int:
    """Load ``model``'s files in this process, by its exported strategies; return the rows."""
    label = model_label(model)
    rows = 0
    for strategy in exported:
        path = strategy.existing_data_file(run.src, label)
        rows += _step(run, model, strategy.name, run.rows_in_file.get(path), strategy.import_data)
    if pulled.is_file():
        rows += _step(
            run,
            model,
            layout.PULLED,
            run.rows_in_file.get(pulled),
            lambda database, src, model: load_file(model, pulled, database),
        )
    return rows


def _collect(run: ImportRun, model: type[Model], names: list[str]) -> int:
    """Wait for the worker loading ``model``'s files (one per name, as :func:`_load_here`
    names them); return the rows, shown per file as a load here shows them."""
    assert run.workers is not None
    label = model_label(model)
    loaded: list[int] = []
    for index, name in enumerate(names):
        with run.reporter.progress(f"{label} ({name})", None) as bar:
            loaded = loaded or run.workers.rows(model)
            bar.update(loaded[index])
    return sum(loaded)


def _step(
    run: ImportRun,
    model: type[Model],
    name: str,
    total: int | None,
    import_data: Callable[[str, Path, type[Model]], Any],
    creates: bool = False,
) -> int:
    """Run one strategy's import of ``model`` with a progress bar; return the rows it added.

    ``creates``: the strategy makes rows itself rather than loading exported ones.
    """
    label = model_label(model)
    manager = model._base_manager.using(run.database)
    loaded = run.loaded_keys(model)

    def rows() -> int:
        # Loaded rows count even where they replaced a row that migrations made;
        # rows a strategy creates itself (a factory) are counted in the table.
        return manager.count() if creates else len(loaded)

    before = rows()
    with run.reporter.progress(f"{label} ({name or 'strategy'})", total) as bar:
        run.advance = bar.update
        guard(
            f"importing {label} with strategy {name!r}",
            import_data,
            run.database,
            run.src,
            model,
            consequence=run.consequence,
        )
    return rows() - before


def _clear_cached_rows() -> None:
    """Empty the caches of managers that keep rows per process (``clear_cache()``: content
    types, sites). Migrations do not: they use historical models, with managers of their own."""
    for model in candidate_models():
        clear = getattr(model._default_manager, "clear_cache", None)
        if callable(clear):
            clear()


def _reset_sequences(database: str, models: Sequence[type[Model]]) -> None:
    """Point primary-key sequences past the imported rows, so new rows can be created."""
    connection = connections[database]
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
