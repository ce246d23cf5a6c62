"""What the commands tell the user: progress bars, warnings and the closing summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from tqdm import tqdm


@dataclass
class RunSummary:
    """Counts of a finished export or import."""

    verb: str
    rows_by_model: dict[str, int] = field(default_factory=dict)
    #: Rows removed per model label: those the dev database's migrations made that the
    #: export does not hold (and rows their deletion cascaded to).
    removed_by_model: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    #: Rows that the rules for missing references changed, by (reference, action): see
    #: :mod:`devdata_core.rules`.
    affected: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def models(self) -> int:
        """Models with rows: those the per-model lines above the summary show rows for
        (models whose strategies selected nothing, or that have none, are left out)."""
        return sum(1 for rows in self.rows_by_model.values() if rows)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_model.values())

    def add(self, label: str, rows: int) -> None:
        self.rows_by_model[label] = self.rows_by_model.get(label, 0) + rows

    def finish(self) -> RunSummary:
        self.seconds = time.monotonic() - self.started
        return self

    def line(self, where: str) -> str:
        return (
            f"{self.verb} {self.models} models, {self.rows:,} rows in {self.seconds:.1f}s {where}"
        )


class Progress:
    """Counts the rows of one model, moving its bar when there is one."""

    def __init__(self, bar: tqdm) -> None:
        self.bar = bar
        self.rows = 0

    def update(self, rows: int = 1) -> None:
        self.rows += rows
        self.bar.update(rows)


class Reporter:
    """Writes progress to ``stderr`` and messages to ``stdout``, quietly at verbosity 0."""

    def __init__(self, stdout: Any, stderr: Any, verbosity: int, style: Any) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.verbosity = verbosity
        self.style = style
        self._bar: tqdm | None = None
        self._renames: dict[str, str] = {}

    def info(self, message: str) -> None:
        if self.verbosity >= 1:
            self._write(self.stdout, message)

    def detail(self, message: str) -> None:
        if self.verbosity >= 2:
            self._write(self.stdout, message)

    def warn(self, message: str) -> None:
        if self.verbosity >= 1:
            self._write(self.stderr, self.style.WARNING(f"Warning: {message}"))

    def success(self, message: str) -> None:
        if self.verbosity >= 1:
            self._write(self.stdout, self.style.SUCCESS(message))

    @contextmanager
    def renaming(self, local: str, shown: str) -> Iterator[None]:
        """Messages name ``local`` (where an archive was unpacked, say) as ``shown``."""
        self._renames[local] = shown
        try:
            yield
        finally:
            del self._renames[local]

    def shown(self, message: str) -> str:
        """``message`` with the paths :meth:`renaming` names replaced."""
        for local, shown in self._renames.items():
            message = message.replace(local, shown)
        return message

    def _write(self, stream: Any, message: str) -> None:
        if self._bar is not None:
            self._bar.clear()
        stream.write(self.shown(message))
        if self._bar is not None:
            self._bar.refresh()

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Progress]:
        """A progress bar counting rows of one model.

        On a terminal it moves; in a log (no terminal) it is one line once done.
        """
        stream: TextIO = getattr(self.stderr, "_out", self.stderr)
        live = self.verbosity >= 1 and stream.isatty()
        bar = tqdm(
            total=total,
            desc=description,
            unit=" rows",
            file=stream,
            disable=not live,
            leave=True,
            dynamic_ncols=True,
            mininterval=0.5,
        )
        self._bar = bar if live else None
        progress = Progress(bar)
        started = time.monotonic()
        try:
            yield progress
        finally:
            self._bar = None
            bar.close()
        if self.verbosity >= 1 and not live:
            seconds = time.monotonic() - started
            self.stderr.write(f"{description}: {progress.rows:,} rows in {seconds:.2f}s")
