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
from typing import Any, Literal, get_args

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model

from .settings import NATURAL_KEY_MODELS

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


def check_reference(ref: DerivedReference, model: type[Model]) -> str | None:
    """What is wrong with ``ref`` as a reference of ``model``, or ``None``."""
    if ref.model._meta.concrete_model is not model._meta.concrete_model:
        return f"{ref} is a reference of {ref.model._meta.label}, not of {model._meta.label}"
    if ref.rule not in get_args(Rule):
        return f"{ref}: rule {ref.rule!r} is neither 'pull' nor 'restrict'"
    if not ref.columns:
        return f"{ref} names no columns"
    attnames = {f.attname for f in model._meta.concrete_fields}
    for column in ref.columns:
        if column not in attnames:
            return f"{ref}: {model._meta.label} has no column {column!r} (give attnames)"
    try:
        target = ref.target._meta.get_field(ref.target_field)
    except FieldDoesNotExist:
        target = None
    if target is None or getattr(target, "attname", None) != ref.target_field:
        return f"{ref}: {ref.target._meta.label} has no column {ref.target_field!r}"
    if not (target.primary_key or target.unique):
        return f"{ref}: {ref.target._meta.label}.{ref.target_field} is not unique"
    if ref.target._meta.label in NATURAL_KEY_MODELS and len(ref.columns) != 1:
        return (
            f"{ref}: a reference to {ref.target._meta.label} names the one column that holds "
            "its ids (they are matched by natural key on import)"
        )
    return None
