"""Every name in an export directory, in one place; no I/O.

::

    <dest>/manifest.json                         written last: the export's commit point
    <dest>/migrations.json                       the source's applied migrations
    <dest>/<app_label.ModelName>/<name>.jsonl    a strategy's rows, one JSON object a line
    <dest>/<app_label.ModelName>/_pulled.jsonl   rows that exported rows pulled in
    <dest>/<extra name>.json                     an extra's data

A file being written carries ``.partial``; django-devdata 1.x wrote ``<name>.json`` arrays.
Names are ``/``-separated paths inside the export, as the manifest lists them.
"""

from __future__ import annotations

MANIFEST = "manifest.json"
MIGRATIONS = "migrations.json"
PULLED = "_pulled"
DATA_SUFFIX = ".jsonl"
LEGACY_DATA_SUFFIX = ".json"
PARTIAL_SUFFIX = ".partial"


def data_name(label: str, strategy: str) -> str:
    """The file of strategy ``strategy``'s rows of the model ``label`` (``app.Model``)."""
    return f"{label}/{strategy}{DATA_SUFFIX}"


def pulled_name(label: str) -> str:
    """The file of the rows of ``label`` that rows of other models pulled in."""
    return data_name(label, PULLED)


def extra_name(name: str) -> str:
    """The file of the extra called ``name``."""
    return f"{name}{LEGACY_DATA_SUFFIX}"


def is_export_file(name: str) -> bool:
    """Whether a file of this name can belong to an export (of any version, or partial)."""
    return name.endswith((DATA_SUFFIX, LEGACY_DATA_SUFFIX, PARTIAL_SUFFIX))
