"""Check what a tool left in the target: every table's row count, and no dangling reference."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .cases import Case, inventory


@dataclass(frozen=True)
class Verdict:
    ok: bool
    #: The rows counted, or what did not match.
    text: str


def export_rows(export_dir: Path, labels: Iterable[str]) -> dict[str, int]:
    """Rows per model label in a devdata export: the lines of ``<label>/*.jsonl``."""
    return {
        label: sum(_lines(path) for path in (export_dir / label).glob("*.jsonl"))
        for label in labels
    }


def _lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def verify(case: Case, expected: dict[str, int]) -> Verdict:
    """Compare the target's benchmark tables with ``expected`` rows per label."""
    found = inventory(case.target)
    problems = [
        f"{label} has {found['rows'][label]:,} rows, expected {expected[label]:,}"
        for label in case.tables
        if found["rows"][label] != expected[label]
    ]
    problems += [
        f"{count:,} rows of {reference} point at no row"
        for reference, count in found["orphans"].items()
        if count
    ]
    if problems:
        return Verdict(False, "MISMATCH: " + "; ".join(problems))
    return Verdict(True, f"{sum(found['rows'].values()):,}")
