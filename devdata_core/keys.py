"""The sets of keys an export holds, used to keep references intact.

An export holds the key of every row it writes, so memory here must not grow with
the data: non-negative integer keys (nearly every primary key) go into a compressed
bitmap, a few hundred kilobytes for a million keys where a Python ``set`` takes tens of
megabytes. Other keys (UUIDs, strings) are kept in a ``set``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Field
from pyroaring import BitMap64

_BITMAP_LIMIT = 2**64


class KeySet:
    """The values of one field (usually the primary key) over the rows an export holds.

    Values are kept as the field's Python type, so that keys read from a file compare
    equal to the same keys read from the database.
    """

    def __init__(self, field: Field) -> None:
        self.field = field
        self._ints = BitMap64()
        self._others: set[Any] = set()

    def add(self, value: Any) -> None:
        if type(value) is int and 0 <= value < _BITMAP_LIMIT:
            self._ints.add(value)
        else:
            self._others.add(value)

    def add_serialised(self, values: Iterable[Any]) -> None:
        """Add values as they appear in an export file."""
        to_python = self.field.to_python
        for value in values:
            if value is not None:
                self.add(to_python(value))

    def discard(self, value: Any) -> None:
        if type(value) is int and 0 <= value < _BITMAP_LIMIT:
            self._ints.discard(value)
        else:
            self._others.discard(value)

    def choice(self) -> Any:
        """A random key, or ``None`` when the set is empty."""
        ints, total = len(self._ints), len(self)
        if not total:
            return None
        index = random.randrange(total)
        if index < ints:
            return self._ints[index]
        return random.choice(tuple(self._others))

    def __contains__(self, value: object) -> bool:
        if type(value) is int and 0 <= value < _BITMAP_LIMIT:  # type: ignore[operator]
            return value in self._ints
        return value in self._others

    def __iter__(self) -> Iterator[Any]:
        yield from self._ints
        yield from self._others

    def __len__(self) -> int:
        return len(self._ints) + len(self._others)
