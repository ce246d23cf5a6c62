"""Trees kept by django-treebeard, in its three shapes, for devdata-treebeard.

Pages are a materialised-path tree with multi-table inheritance children, as in a CMS;
categories are nested sets; folders an adjacency list, whose parent is a foreign key.
"""

from django.db import models
from treebeard.al_tree import AL_Node
from treebeard.mp_tree import MP_Node
from treebeard.ns_tree import NS_Node


class Page(MP_Node):
    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title


class BlogPage(Page):
    """Its row holds the post; the tree columns stay in Page's table."""

    body = models.TextField(blank=True)


class Category(NS_Node):
    name = models.CharField(max_length=100)


class Folder(AL_Node):
    parent = models.ForeignKey(
        "self", null=True, blank=True, related_name="children", on_delete=models.CASCADE
    )
    sib_order = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
