"""References the ORM does not declare: plugins declare them through ``devdata_references``.

A foreign key tells devdata which rows a row needs. Some apps keep such links elsewhere:
a tree's materialised path (a node needs the nodes whose paths prefix its own), an id in
a ``CharField``, a content type and an id without a ``GenericForeignKey``. A
:class:`DerivedReference` says how to find, from a row's own columns, the keys of the rows
it references, so that the export restricts by it or pulls through it as it does for
foreign keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import Model

#: ``"pull"``: the rows a kept row references are brought into the export, and bring their
#: own references in turn. ``"restrict"``: a row is kept only if every row it references
#: is exported.
Rule = Literal["pull", "restrict"]

#: Given the export's database alias and a batch of rows (each a tuple of the values of
#: ``columns``), return for each row, in order, the values of ``target_field`` of the rows
#: it references (an empty iterable for none). It runs inside the export's snapshot and
#: may query the source through the alias.
Resolver = Callable[[str, Sequence[tuple[Any, ...]]], Iterable[Iterable[Any]]]


@dataclass(frozen=True)
class DerivedReference:
    """Rows of ``model`` reference rows of ``target`` through ``columns``, via ``resolve``."""

    model: type[Model]
    target: type[Model]
    #: The attname of a unique column of ``target`` (its primary key, usually).
    target_field: str
    #: The attnames of ``model``'s columns that ``resolve`` reads.
    columns: tuple[str, ...]
    resolve: Resolver
    rule: Rule = "restrict"
    #: How ``--plan`` and messages name the reference, e.g. ``"path ancestors"``.
    name: str = "derived reference"

    def __str__(self) -> str:
        return f"{self.model._meta.label}.{self.name}"
