"""Which treebeard tree, if any, a model's own table holds."""

from __future__ import annotations

from django.db.models import Model
from treebeard.mp_tree import MP_Node
from treebeard.ns_tree import NS_Node

#: A column each kind of tree adds to the model that holds it.
_COLUMN = {MP_Node: "path", NS_Node: "lft"}


def holds_tree(model: type[Model], kind: type[MP_Node] | type[NS_Node]) -> bool:
    """Whether ``model``'s own table holds the columns of a ``kind`` tree.

    A multi-table inheritance child (``BlogPage(Page)``) and a proxy share the table of
    the model that declared the tree, which answers for them.
    """
    if not issubclass(model, kind) or model._meta.proxy:
        return False
    return model._meta.get_field(_COLUMN[kind]).model is model
