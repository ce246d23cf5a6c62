"""On export, a node references its ancestors: exporting a node brings them along.

A materialised path names its ancestors (the prefixes of the path, one step at a time);
nested sets hold them as the intervals of the same tree that contain the node's.
Adjacency-list trees need nothing here: their parent is a foreign key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db.models import F, Model
from treebeard.mp_tree import MP_Node
from treebeard.ns_tree import NS_Node

from devdata_core.references import DerivedReference

from .trees import holds_tree


def ancestor_references(model: type[Model]) -> list[DerivedReference]:
    """The reference to its ancestors of a model that holds a treebeard tree, if any."""
    if holds_tree(model, MP_Node):
        return [
            DerivedReference(
                model=model,
                target=model,
                target_field="path",
                columns=("path",),
                resolve=partial(_path_ancestors, model.steplen),
                rule="pull",
                name="path ancestors",
            )
        ]
    if holds_tree(model, NS_Node):
        return [
            DerivedReference(
                model=model,
                target=model,
                target_field=model._meta.pk.attname,
                columns=("tree_id", "lft", "rgt"),
                resolve=partial(_nested_ancestors, model),
                rule="pull",
                name="nested-set ancestors",
            )
        ]
    return []


def _path_ancestors(steplen: int, database: str, rows: Sequence[tuple[str]]) -> list[list[str]]:
    """The paths of each node's ancestors: ``"000100020003"`` has ``"0001"`` and
    ``"00010002"`` with steps of 4. No query: the path names them."""
    return [[path[:end] for end in range(steplen, len(path), steplen)] for (path,) in rows]


def _nested_ancestors(
    model: type[Model], database: str, rows: Sequence[tuple[int, int, int]]
) -> list[list[Any]]:
    """The keys of each node's ancestors: nodes of its tree whose bounds enclose its own.

    One query reads the inner nodes (``rgt > lft + 1``) that could enclose a node of the
    batch; a sweep per tree in ``lft`` order then keeps the enclosing ones on a stack.
    """
    if not rows:
        return []
    inner = (
        model._base_manager.using(database)
        .filter(
            tree_id__in=sorted({tree_id for tree_id, _, _ in rows}),
            lft__lt=max(lft for _, lft, _ in rows),
            rgt__gt=min(rgt for _, _, rgt in rows),
        )
        .filter(rgt__gt=F("lft") + 1)
        .order_by("tree_id", "lft")
        .values_list("tree_id", "lft", "rgt", model._meta.pk.attname)
    )
    enclosing: dict[int, list[tuple[int, int, Any]]] = defaultdict(list)
    for tree_id, lft, rgt, key in inner:
        enclosing[tree_id].append((lft, rgt, key))
    found: list[list[Any]] = [[] for _ in rows]
    for tree_id, nodes in _by_tree(rows).items():
        candidates = iter(enclosing[tree_id])
        upcoming = next(candidates, None)
        stack: list[tuple[int, int, Any]] = []
        for index, lft, rgt in nodes:
            while upcoming is not None and upcoming[0] < lft:
                _close_before(stack, upcoming[0])
                stack.append(upcoming)
                upcoming = next(candidates, None)
            _close_before(stack, lft)
            found[index] = [key for _, outer_rgt, key in stack if outer_rgt > rgt]
    return found


def _by_tree(rows: Sequence[tuple[int, int, int]]) -> dict[int, list[tuple[int, int, int]]]:
    """Each tree's nodes of the batch as ``(index in rows, lft, rgt)``, in ``lft`` order."""
    trees: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for index, (tree_id, lft, rgt) in enumerate(rows):
        trees[tree_id].append((index, lft, rgt))
    for nodes in trees.values():
        nodes.sort(key=lambda node: node[1])
    return trees


def _close_before(stack: list[tuple[int, int, Any]], position: int) -> None:
    """Drop the intervals that end before ``position``."""
    while stack and stack[-1][1] < position:
        stack.pop()
