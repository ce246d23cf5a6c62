"""Rows that the dev database's migrations made, and that the export does not hold.

A freshly built dev database is not empty: data migrations and ``post_migrate`` handlers
create default rows (a ``Site``, a welcome page, a group's permissions). A full export is
the source, exactly, so once a model's exported rows are in, the rows that building the
schema made in its table and that the export does not hold go, deleted as the app would
delete them (``on_delete`` of the rows referencing them applies, signals are sent).

They are found by the keys in each table before and after the schema is built: rows that
were there before the import (``--reset-mode=none`` merges into them) stay, as do those of
models in ``DEVDATA_KEEP_MIGRATION_ROWS``, and content types and permissions, which the
import matches by natural key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import connections
from django.db.models import Model, ProtectedError, RestrictedError
from django.db.models.deletion import Collector

from .errors import DevdataError, shorten
from .keys import KeySet
from .settings import NATURAL_KEY_MODELS, is_managed_table, model_label

#: Keys per ``DELETE ... WHERE pk IN (...)``, well inside every database's parameter limit.
_CHUNK = 500


class MigrationRows:
    """The rows that building the schema makes in the tables of ``models``.

    Made before the schema is built; :meth:`schema_built` is called once it is.
    """

    def __init__(
        self, database: str, models: Iterable[type[Model]], keep: Iterable[type[Model]] = ()
    ) -> None:
        self.database = database
        kept = set(keep)
        self.models = list(
            dict.fromkeys(
                m._meta.concrete_model
                for m in models
                if m._meta.concrete_model not in kept
                and model_label(m._meta.concrete_model) not in NATURAL_KEY_MODELS
                and is_managed_table(m)
            )
        )
        #: Keys in tables that exist before the schema is built.
        self._before = {m: self._keys(m) for m in self._existing()}
        #: Keys of the rows the schema's build made, per model, until they are removed.
        self.made: dict[type[Model], KeySet] = {}

    def _existing(self) -> list[type[Model]]:
        tables = set(connections[self.database].introspection.table_names())
        return [m for m in self.models if m._meta.db_table in tables]

    def _keys(self, model: type[Model]) -> KeySet:
        keys = KeySet(model._meta.pk)
        rows = model._base_manager.using(self.database).values_list("pk", flat=True)
        for pk in rows.iterator(chunk_size=10_000):
            keys.add(pk)
        return keys

    def schema_built(self) -> None:
        """Note the rows that migrations and ``post_migrate`` made."""
        for model in self._existing():
            before = self._before.get(model)
            made = KeySet(model._meta.pk)
            for pk in self._keys(model):
                if before is None or pk not in before:
                    made.add(pk)
            if len(made):
                self.made[model] = made
        self._before = {}

    def remove(self, model: type[Model], loaded: KeySet) -> Counter[str]:
        """Delete ``model``'s migration-made rows whose keys ``loaded`` does not hold.

        Returns the rows deleted per model label, those that the deletion cascaded to
        included.
        """
        made = self.made.pop(model._meta.concrete_model, None)
        if made is None:
            return Counter()
        return self._delete(model, [pk for pk in made if pk not in loaded])

    def _delete(self, model: type[Model], pks: list[Any]) -> Counter[str]:
        """Delete rows of ``model`` as the app would. A row that a migration-made row of
        a model still to load protects (``PROTECT``, ``RESTRICT``) goes after that one."""
        removed: Counter[str] = Counter()
        manager = model._base_manager.using(self.database)
        for start in range(0, len(pks), _CHUNK):
            chunk = pks[start : start + _CHUNK]
            while True:
                rows = manager.filter(pk__in=chunk)
                collector = Collector(using=self.database, origin=rows)
                try:
                    # An inheriting model's rows go without their parent rows, which may
                    # be production's by now: the parent model's own step removes those
                    # that the export does not hold.
                    collector.collect(rows, keep_parents=True)
                    _, counts = collector.delete()
                except (ProtectedError, RestrictedError) as exc:
                    removed += self._remove_blocking(model, exc)
                    continue
                removed.update({label: n for label, n in counts.items() if n})
                break
        return removed

    def _remove_blocking(
        self, model: type[Model], exc: ProtectedError | RestrictedError
    ) -> Counter[str]:
        """Remove the migration-made rows that keep ``model``'s from being deleted, or
        say which rows do, if any of them is not one."""
        blocking = getattr(exc, "protected_objects", None) or exc.restricted_objects
        by_model: dict[type[Model], list[Any]] = {}
        for obj in blocking:
            by_model.setdefault(obj._meta.concrete_model, []).append(obj.pk)
        for other, pks in by_model.items():
            made = self.made.get(other)
            if made is None or any(pk not in made for pk in pks):
                label = model_label(model)
                shown = shorten(", ".join(map(str, pks)), 60)
                raise DevdataError(
                    f"cannot remove the {label} rows that the dev database's migrations made "
                    f"and the export does not hold: {model_label(other)} rows {shown} reference "
                    f"them and may not lose them (on_delete PROTECT or RESTRICT); add "
                    f"{label!r} to DEVDATA_KEEP_MIGRATION_ROWS to keep them"
                )
        removed: Counter[str] = Counter()
        for other, pks in by_model.items():
            for pk in pks:
                self.made[other].discard(pk)
            removed += self._delete(other, pks)
        return removed
