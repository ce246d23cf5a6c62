"""The sets of keys an export holds, used to keep references intact.

An export holds the key of every row it writes, so memory here must not grow with
the data: non-negative integer keys (nearly every primary key) go into a compressed
bitmap, a few hundred kilobytes for a million keys where a Python ``set`` takes tens of
megabytes. Other keys (UUIDs, strings) are kept in a ``set``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from django.db.models import Field, IntegerField
from pyroaring import BitMap64

_BITMAP_LIMIT = 2**64


class KeySet:
    """The values of one field (usually the primary key) over the rows an export holds.

    Values are kept as the field's Python type, so that keys read from a file compare
    equal to the same keys read from the database.
    """

    def __init__(self, field: Field) -> None:
        self.field = field
        while target := getattr(field, "target_field", None):
            field = target
        #: Whether the values are integers (autoincrement keys, references to them).
        self._integers = isinstance(field, IntegerField)
        self._ints = BitMap64()
        self._others: set[Any] = set()
        #: The other keys in order, for :meth:`pick`, kept until they change.
        self._sorted: tuple[Any, ...] | None = None

    def add(self, value: Any) -> None:
        if type(value) is int and 0 <= value < _BITMAP_LIMIT:
            self._ints.add(value)
        elif value not in self._others:
            self._others.add(value)
            self._sorted = None

    def add_serialised(self, values: Iterable[Any]) -> None:
        """Add values as they appear in an export file."""
        present = [value for value in values if value is not None]
        if self._integers:
            try:
                # An integer field's values are ints in the file already: the bitmap takes
                # them in one call, a million in milliseconds (where a call per key, on
                # the COPY path's thread, held the GIL the other jobs wait for).
                self._ints.update(present)
                return
            except (OverflowError, TypeError):
                pass  # A negative key (the set's), or not an int.
        to_python = self.field.to_python
        for value in present:
            self.add(to_python(value))

    def update(self, other: KeySet) -> None:
        """Add every key of ``other``."""
        self._ints |= other._ints
        if other._others:
            self._others |= other._others
            self._sorted = None

    def discard(self, value: Any) -> None:
        if type(value) is int and 0 <= value < _BITMAP_LIMIT:
            self._ints.discard(value)
        elif value in self._others:
            self._others.discard(value)
            self._sorted = None

    def pick(self, number: int) -> Any:
        """The key at ``number`` modulo the size of the set (integers in order, then the
        others sorted), or ``None`` when the set is empty: the same set and number give
        the same key on every run."""
        ints, total = len(self._ints), len(self)
        if not total:
            return None
        index = number % total
        if index < ints:
            return self._ints[index]
        if self._sorted is None:
            self._sorted = tuple(sorted(self._others, key=_order))
        return self._sorted[index - ints]

    @property
    def integers_only(self) -> bool:
        """Whether every key is a non-negative integer (all in the bitmap)."""
        return not self._others

    def batches(self, size: int) -> Iterator[KeySet]:
        """The keys in sets of at most ``size``, in :meth:`pick`'s order."""
        batch = KeySet(self.field)
        for key in chain(self._ints, sorted(self._others, key=_order)):
            batch.add(key)
            if len(batch) == size:
                yield batch
                batch = KeySet(self.field)
        if batch:
            yield batch

    def __contains__(self, value: object) -> bool:
        if type(value) is int and 0 <= value < _BITMAP_LIMIT:  # type: ignore[operator]
            return value in self._ints
        return value in self._others

    def __iter__(self) -> Iterator[Any]:
        yield from self._ints
        yield from self._others

    def __len__(self) -> int:
        return len(self._ints) + len(self._others)


def _order(key: Any) -> tuple[str, Any]:
    """Keys of one field sort as they are; ``repr`` orders the odd set of mixed types."""
    return (type(key).__name__, key if isinstance(key, (str, int, float)) else repr(key))
