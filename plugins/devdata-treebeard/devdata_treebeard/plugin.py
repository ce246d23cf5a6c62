"""Registers the treebeard hooks with devdata (entry point ``devdata-treebeard``)."""

from __future__ import annotations

from pathlib import Path

from django.db.models import Model

from devdata_core import hookimpl, importing
from devdata_core.references import DerivedReference
from devdata_core.settings import model_label

from .ancestors import ancestor_references
from .repair import repair_tree


@hookimpl
def devdata_references(model: type[Model]) -> list[DerivedReference]:
    return ancestor_references(model)


@hookimpl
def devdata_after_import_model(database: str, src: Path, model: type[Model], rows: int) -> None:
    """Make the tree that ``model`` holds sound, inside the import's transaction."""
    repair = repair_tree(model, database)
    if repair is None:
        return
    reporter = importing.current_run().reporter
    label = model_label(model)
    if repair.fixed:
        reporter.detail(f"{label}: tree columns of {repair.fixed:,} nodes set from the rows loaded")
    if repair.orphans:
        reporter.warn(
            f"{label}: {repair.orphans:,} tree nodes have no parent in {database!r}, which "
            "treebeard's find_problems() reports: export with devdata-treebeard installed, "
            "so that ancestors come along, or mend the tree in production"
        )
