"""Derived references (:mod:`devdata_core.references`) in an export: resolved in batches.

A foreign key's value is the referenced key itself, so the export checks it row by row.
A derived reference's keys come from its ``resolve``, which may query the source, so
rows are resolved a batch at a time: those a strategy (or a pull) wrote, once it is done
writing them (MySQL streams rows on the export's one connection, which cannot query
meanwhile), and those of a file again when the export prunes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Model

from .errors import PluginError, describe
from .keys import KeySet
from .references import DerivedReference

#: Rows passed to one call of a reference's ``resolve``.
BATCH_SIZE = 2000


@dataclass
class Following:
    """One derived reference, for rows of one model from one source."""

    reference: DerivedReference
    #: The keys of the target the export holds.
    keys: KeySet
    #: Target keys that written rows reference and the export did not hold then.
    waiting: set[Any]
    #: Where keys to pull are asked for (``None`` for a restricting reference).
    request: set[Any] | None


def resolved(
    reference: DerivedReference, database: str, rows: Sequence[tuple[Any, ...]]
) -> Iterator[list[Any]]:
    """For each of ``rows`` (values of the reference's columns), the target keys it
    references, as the target field's Python values."""
    to_python = reference.target._meta.get_field(reference.target_field).to_python
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        try:
            answers = [list(keys) for keys in reference.resolve(database, batch)]
            if len(answers) != len(batch):
                raise ValueError(f"{len(answers)} answers for {len(batch)} rows")
            yield from ([to_python(key) for key in keys if key is not None] for keys in answers)
        except Exception as exc:
            raise PluginError(f"resolving derived reference {reference}: {describe(exc)}") from exc


class Resolution:
    """Collects the rows one write takes, and resolves their references when it is done."""

    def __init__(
        self, database: str, following: Sequence[tuple[tuple[int, ...], Following]]
    ) -> None:
        self.database = database
        self.following = following
        self.rows: list[list[tuple[Any, ...]]] = [[] for _ in following]

    def add(self, values: tuple[Any, ...]) -> None:
        for (indexes, _), rows in zip(self.following, self.rows, strict=True):
            rows.append(tuple(values[i] for i in indexes))

    def finish(self) -> None:
        """Note the targets not yet exported, and ask for the pulled ones."""
        for (_, follow), rows in zip(self.following, self.rows, strict=True):
            keys, waiting, request = follow.keys, follow.waiting, follow.request
            for targets in resolved(follow.reference, self.database, rows):
                for key in targets:
                    if key not in keys:
                        waiting.add(key)
                        if request is not None:
                            request.add(key)
            rows.clear()


def failing(
    reference: DerivedReference,
    database: str,
    rows: Iterable[tuple[int, tuple[Any, ...]]],
    keys: KeySet,
) -> set[int]:
    """Of ``(line number, column values)`` rows, the lines that reference a target key
    outside ``keys``.

    A reference fails only for targets that the source holds (and the export left out):
    no database enforces a derived reference, so a row pointing at a row that production
    does not have either is kept as production has it (a tree's orphan, the history of
    a deleted object).
    """
    numbers, values = [], []
    for number, columns in rows:
        numbers.append(number)
        values.append(columns)
    missing = [
        {key for key in targets if key not in keys}
        for targets in resolved(reference, database, values)
    ]
    target = reference.target._meta.concrete_model
    held = held_by_source(target, reference.target_field, database, set().union(*missing))
    missing = [targets & held for targets in missing]
    return {number for number, targets in zip(numbers, missing, strict=True) if targets}


def held_by_source(model: type[Model], attname: str, database: str, wanted: set[Any]) -> set[Any]:
    """The values among ``wanted`` that rows of ``model`` have in column ``attname`` of the
    source: keys that an export left out, as opposed to keys of rows that do not exist."""
    manager = model._base_manager.using(database)
    held: set[Any] = set()
    ordered = sorted(wanted, key=repr)
    for start in range(0, len(ordered), BATCH_SIZE):
        chunk = ordered[start : start + BATCH_SIZE]
        held.update(manager.filter(**{f"{attname}__in": chunk}).values_list(attname, flat=True))
    return held
