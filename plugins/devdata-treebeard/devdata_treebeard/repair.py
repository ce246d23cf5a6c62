"""On import, each tree is made sound again from the rows that were loaded.

A subset leaves materialised-path child counts counting children that stayed behind,
and nested-set bounds with gaps where nodes stayed behind. Treebeard's ``fix_tree()``
and ``find_problems()`` query through ``Model.objects``, that is the database Django's
routers pick (``default`` without routers), not the import's: so the counts and bounds
are worked out here from the rows on the import's alias, and written there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.db.models import Model
from treebeard.mp_tree import MP_Node
from treebeard.ns_tree import NS_Node

from .trees import holds_tree

#: Rows per UPDATE of ``bulk_update``.
BATCH_SIZE = 500


@dataclass(frozen=True)
class Repair:
    """What making one tree model sound did."""

    #: Nodes whose tree columns were rewritten.
    fixed: int
    #: Nodes whose parent is not in the table (for nested sets: whose depth disagrees
    #: with their nesting, their descendants included): nothing here can mend them.
    orphans: int


def repair_tree(model: type[Model], database: str) -> Repair | None:
    """Make the treebeard tree that ``model``'s table holds sound; ``None`` if it holds none."""
    if holds_tree(model, MP_Node):
        return _repair_paths(model, database)
    if holds_tree(model, NS_Node):
        return _repair_nested_sets(model, database)
    return None


def _repair_paths(model: type[Model], database: str) -> Repair:
    """Set each node's ``numchild`` to the children loaded, and ``depth`` to its path's."""
    manager = model._base_manager.using(database).order_by()
    steplen: int = model.steplen
    children = Counter(
        path[:-steplen] for path in manager.values_list("path", flat=True).iterator()
    )
    # Parents that children name, until the pass below meets them.
    unseen = {parent: count for parent, count in children.items() if parent}
    wrong = []
    for key, path, depth, numchild in manager.values_list(
        "pk", "path", "depth", "numchild"
    ).iterator():
        unseen.pop(path, None)
        right = {"depth": len(path) // steplen, "numchild": children.get(path, 0)}
        if (depth, numchild) != (right["depth"], right["numchild"]):
            wrong.append(model(pk=key, **right))
    _write(model, database, wrong, ["depth", "numchild"])
    return Repair(fixed=len(wrong), orphans=sum(unseen.values()))


def _repair_nested_sets(model: type[Model], database: str) -> Repair:
    """Number each tree's bounds again from 1 without gaps, keeping its order and nesting.

    ``depth`` stays as exported: a node whose nesting says otherwise lost its parent.
    """
    rows = (
        model._base_manager.using(database)
        .order_by("tree_id", "lft")
        .values_list("tree_id", "pk", "lft", "rgt", "depth")
        .iterator()
    )
    wrong: list[Model] = []
    orphans = 0
    for _, nodes in groupby(rows, itemgetter(0)):
        for key, old, new, astray in _renumbered(node[1:] for node in nodes):
            orphans += astray
            if old != new:
                wrong.append(model(pk=key, lft=new[0], rgt=new[1]))
    _write(model, database, wrong, ["lft", "rgt"])
    return Repair(fixed=len(wrong), orphans=orphans)


def _renumbered(
    nodes: Iterable[tuple[Any, int, int, int]],
) -> Iterable[tuple[Any, tuple[int, int], tuple[int, int], bool]]:
    """For one tree's ``(key, lft, rgt, depth)`` in ``lft`` order: each node's key, old and
    new bounds, and whether its depth disagrees with its nesting."""
    bound = 0
    enclosing: list[tuple[Any, int, int, int, bool]] = []  # key, lft, rgt, new lft, astray

    def close() -> tuple[Any, tuple[int, int], tuple[int, int], bool]:
        nonlocal bound
        key, lft, rgt, new_lft, astray = enclosing.pop()
        bound += 1
        return key, (lft, rgt), (new_lft, bound), astray

    for key, lft, rgt, depth in nodes:
        while enclosing and enclosing[-1][2] < lft:
            yield close()
        bound += 1
        enclosing.append((key, lft, rgt, bound, depth != len(enclosing) + 1))
    while enclosing:
        yield close()


def _write(model: type[Model], database: str, rows: list[Model], fields: list[str]) -> None:
    model._base_manager.using(database).bulk_update(rows, fields, batch_size=BATCH_SIZE)
