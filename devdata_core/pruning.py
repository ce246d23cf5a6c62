"""Pruning a written export: the references that could not be checked as rows were
written (cycles, self-references, pulls, generic and derived references, and files of
an earlier export this run keeps) are checked once every row is in. A row that fails
is rewritten by its reference's rule or dropped from its file, cascading to the rows
that referenced it, and pulled rows that only dropped rows brought go too.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import Model

from . import derived, rules
from .files import atomic_writer
from .graph import Reference
from .plan import GenericReference, pulled_file
from .serialization import (
    Row,
    as_exported,
    column_values,
    encode,
    field_by_attname,
    field_name,
    read_rows,
    serialised,
)
from .settings import model_label
from .strategies import Exportable, Strategy

if TYPE_CHECKING:
    from .exporting import ExportRun


def prune(run: ExportRun) -> None:
    """Drop rows that reference rows the export does not hold, cascading.

    Deferred and pulled references, and generic foreign keys, are checked here for
    rows whose targets were not known when they were written. So are the files this
    run did not write (those of models it does not take, ``devdata_export dest
    app.Model``, and those it kept, ``--no-update``) that reference its models: their
    rows may reference rows that this run no longer exports.
    """
    queue: deque[type[Model]] = deque()

    def enqueue(model: type[Model]) -> None:
        if model not in queue:
            queue.append(model)

    for ref, values in run.pending.items():
        if ref.model in run.models and any(
            v not in run.keyset(ref.target, ref.target_field) for v in values
        ):
            enqueue(ref.model)
    for gref, pointed in run.generic_pending.items():
        if any(object_id not in run.keyset(target) for target, object_id in pointed):
            enqueue(gref.model)
    for dref, waiting in run.derived_pending.items():
        target = dref.target._meta.concrete_model
        if any(key not in run.keyset(target, dref.target_field) for key in waiting):
            enqueue(dref.model._meta.concrete_model)
    taken = set(run.models)
    for model in run.models:
        for ref in run.graph.referencing(model):
            if ref.model not in taken or ref.model in run.kept:
                enqueue(ref.model)
    dropped: Counter[type[Model]] = Counter()
    unneeded: Counter[type[Model]] = Counter()

    def removed_from(model: type[Model]) -> None:
        for ref in run.graph.referencing(model):
            enqueue(ref.model)
        for other, grefs in run.plan.generic.items():
            if grefs:
                enqueue(other)
        for other, drefs in run.plan.derived.items():
            if any(d.target._meta.concrete_model is model for d in drefs):
                enqueue(other)

    while queue:
        pruned = False
        while queue:
            model = queue.popleft()
            removed = _prune_model(run, model)
            if removed:
                pruned = True
                dropped[model] += removed
                removed_from(model)
        if not pruned:
            break
        # Rows pulled in by rows dropped since go too, and what referenced them in turn.
        for model, removed in _drop_unneeded_pulls(run).items():
            unneeded[model] += removed
            removed_from(model)
    for model, removed in unneeded.items():
        run.summary.add(model_label(model), -removed)
        run.reporter.info(
            f"{model_label(model)}: dropped {removed:,} pulled rows that only dropped rows "
            "referenced"
        )
    for model, removed in dropped.items():
        label = model_label(model)
        if model in taken:
            run.summary.add(label, -removed)
        if model in taken and model not in run.kept:
            run.reporter.info(
                f"{label}: dropped {removed:,} rows whose references were not exported"
            )
        else:
            run.reporter.info(
                f"{label}: dropped {removed:,} rows of the existing export that referenced "
                "rows no longer exported"
            )


def _files(run: ExportRun, model: type[Model]) -> list[tuple[Path, Path, Strategy | None]]:
    """The export files of ``model``: (file to read, file to write it back to, the
    strategy that wrote it or ``None`` for pulled rows)."""
    label = model_label(model)
    found: list[tuple[Path, Path, Strategy | None]] = []
    for strategy in run.settings.strategies.get(model, []):
        if isinstance(strategy, Exportable):
            path = strategy.existing_data_file(run.dest, label)
            if path is not None:
                found.append((path, strategy.data_file(run.dest, label), strategy))
    pulled = pulled_file(run.dest, label)
    if pulled.is_file():
        found.append((pulled, pulled, None))
    return found


def _prune_model(run: ExportRun, model: type[Model]) -> int:
    """Apply the rules of ``model``'s rows that reference rows the export does not hold:
    rewrite them with NULL or a default, or drop them."""
    generic = run.plan.generic.get(model, [])

    def pointed(row: Row, gref: GenericReference) -> tuple[type[Model] | None, Any] | None:
        """What a generic reference of ``row`` points at, ``None`` if null; the model is
        ``None`` for a content type unknown to this project."""
        content_type = row["fields"].get(gref.ct_name)
        object_id = row["fields"].get(gref.fk_name)
        if content_type is None or object_id is None:
            return None
        target = run.content_type_model(content_type)
        try:
            return target, target._meta.pk.to_python(object_id) if target else object_id
        except ValidationError:
            return None, object_id

    def left_out(path: Path) -> set[tuple[type[Model] | None, Any]]:
        """The objects the file's generic references point at that the export does not
        hold, and whose rows therefore go: all of them for a sampled target (or one of
        an unknown content type); for a target exported whole, those the source holds
        (the export dropped them since), not those production does not have either."""
        missing: dict[type[Model] | None, set[Any]] = {}
        for _, row in read_rows(path, model) if generic else ():
            for gref in generic:
                found = pointed(row, gref)
                if found is not None and (found[0] is None or found[1] not in run.keyset(found[0])):
                    missing.setdefault(found[0], set()).add(found[1])
        return {
            (target, key)
            for target, keys in missing.items()
            for key in (
                derived.held_by_source(target, target._meta.pk.attname, run.database, keys)
                if target in run.complete
                else keys
            )
        }

    removed_total = 0
    for path, target, strategy in _files(run, model):
        refs = [
            (
                field_name(model, ref.attname),
                ref,
                run.keyset(ref.target, ref.target_field),
                rule,
            )
            for ref in run.graph.references.get(model, ())
            if (rule := run.rule(ref, strategy)).action != "keep"
        ]

        gone = left_out(path)

        def settle(
            row: Row, refs: list = refs, gone: set = gone
        ) -> tuple[bool, list[tuple[Reference, str]]]:
            """Rewrite ``row`` by the rules of its missing references: whether it stays,
            and what each rule did."""
            done: list[tuple[Reference, str]] = []
            for name, ref, keys, rule in refs:
                value = serialised(row, name)
                if value is None or ref.field.to_python(value) in keys:
                    continue
                value = rule.apply(keys)
                if value is rules.DROP:
                    return False, [(ref, "drop")]
                row["fields"][name] = None if value is None else as_exported(value)
                done.append((ref, rule.action))
            if any(pointed(row, gref) in gone for gref in generic):
                return False, []
            return True, done

        # Rows whose derived references point at rows the export does not hold.
        failed: set[int] = set()
        for dref in run.plan.derived.get(model, []):
            keys = run.keyset(dref.target, dref.target_field)
            values = column_values(path, model, dref.columns)
            failed |= derived.failing(dref, run.database, values, keys)

        def stays(number: int, row: Row, failed: set[int] = failed) -> bool:
            return number not in failed and settle(row)[0]

        # Read first: a file with nothing to change is left as it is.
        removed, changes = [], Counter()
        for number, row in read_rows(path, model):
            if number in failed:
                removed.append(row)
                continue
            kept, done = settle(row)
            if not kept:
                removed.append(row)
            changes.update(done)
        if not changes and not removed:
            continue
        run.affected.update(changes)
        _write_back(run, model, path, target, stays, removed)
        removed_total += len(removed)
    return removed_total


def _write_back(
    run: ExportRun,
    model: type[Model],
    path: Path,
    target: Path,
    keep: Callable[[int, Row], bool],
    removed: Sequence[Row],
) -> None:
    """Write the rows of ``path`` that ``keep`` keeps (given line number and row, which
    it may rewrite) to ``target``, and forget the keys of the ``removed`` ones."""
    with atomic_writer(target) as out:
        for number, row in read_rows(path, model):
            if keep(number, row):
                out.write(encode(row))
    if path != target:
        path.unlink()
    for row in removed:
        for name in run.key_fields(model):
            keys = run.keyset(model, name)
            keys.discard(keys.field.to_python(serialised(row, field_name(model, name))))


def _drop_unneeded_pulls(run: ExportRun) -> dict[type[Model], int]:
    """Drop pulled rows that no exported row brings any more: those that rows dropped
    since pulled in. Returns how many rows of each model went."""
    label = {m: model_label(m) for m in run.models}
    pulled = {m for m in run.models if pulled_file(run.dest, label[m]).is_file()}
    if not pulled:
        return {}
    wanted: dict[tuple[type[Model], str], set[Any]] = {}
    for model in run.models:
        for path, _, source in _files(run, model):
            refs = [
                (field_name(model, ref.attname), ref)
                for ref in run.plan.pulls(model, source)
                if ref.target in pulled
            ]
            children = [ref.model for ref in run.plan.children(model) if ref.model in pulled]
            for dref in run.plan.derived.get(model, []):
                target = dref.target._meta.concrete_model
                if dref.rule == "pull" and target in pulled:
                    values = (columns for _, columns in column_values(path, model, dref.columns))
                    for targets in derived.resolved(dref, run.database, list(values)):
                        wanted.setdefault((target, dref.target_field), set()).update(targets)
            if not refs and not children:
                continue
            for _, row in read_rows(path, model):
                for name, ref in refs:
                    if (value := serialised(row, name)) is not None:
                        wanted.setdefault((ref.target, ref.target_field), set()).add(
                            ref.field.to_python(value)
                        )
                for child in children:
                    wanted.setdefault((child, child._meta.pk.attname), set()).add(
                        model._meta.pk.to_python(row["pk"])
                    )
    result = {}
    for model in pulled:
        asks = [
            (field_name(model, attname), field_by_attname(model, attname), values)
            for (target, attname), values in wanted.items()
            if target is model
        ]

        def needed(number: int, row: Row, asks: list = asks) -> bool:
            return any(
                (value := serialised(row, name)) is not None and field.to_python(value) in values
                for name, field, values in asks
            )

        path = pulled_file(run.dest, label[model])
        removed = [row for number, row in read_rows(path, model) if not needed(number, row)]
        if removed:
            _write_back(run, model, path, path, needed, removed)
            result[model] = len(removed)
    return result
