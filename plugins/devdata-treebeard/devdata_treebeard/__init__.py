"""devdata for django-treebeard trees: subsets keep every node's ancestors, and the import
leaves each tree sound."""
