"""Writing export files so that an interrupted export never leaves one that looks complete."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from . import layout


@contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """Write ``path`` through a ``.partial`` file that replaces it only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + layout.PARTIAL_SUFFIX)
    try:
        with partial.open("w", encoding="utf-8") as f:
            yield f
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
