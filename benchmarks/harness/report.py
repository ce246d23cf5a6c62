"""The markdown report: environment, the table, ratios within each vendor and scale, notes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .process import Measurement
from .scales import format_scale
from .tools import Copy
from .verify import Verdict

COLUMNS = [
    "tool", "vendor", "scale", "rows", "export s", "import s", "export MB", "import MB",
    "rows verified",
]  # fmt: skip
#: Columns aligned left; the others are numbers.
TEXT_COLUMNS = {"tool", "vendor", "rows verified"}

NOTES = """\
- **rows**: the rows the five benchmark tables of the target must hold: the source's for
  full copies, for the subset what the export wrote (the lines of its `.jsonl` files).
  **rows verified**: the rows counted in the target, every table matching and no foreign
  key pointing at a missing row.
- **export s / import s**: wall time of the step's process, interpreter start-up included.
  devdata's import time includes dropping and creating the target database and running
  the migrations (`--reset-mode=drop-database`); loaddata and pg_restore get a freshly
  created and migrated target for free (its time is given with the ratios).
- **export MB / import MB**: peak RSS of that process alone (`ru_maxrss` from `wait4`).
  Linux counts the harness's own resident memory into a process it spawns, so a value
  can be no lower than the harness's; `≤N` means the process used N MB or less. Database
  servers are not counted: pg_dump and pg_restore are clients, and most of their work
  happens in the server."""


@dataclass(frozen=True)
class Result:
    """One row of the table."""

    tool: str
    vendor: str
    scale: int
    copy: Copy
    verdict: Verdict

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def cells(self) -> list[str]:
        copy = self.copy
        rows = f"{sum(copy.expected.values()):,}" if copy.expected else "-"
        return [
            self.tool,
            self.vendor,
            format_scale(self.scale),
            rows,
            _seconds(copy.export),
            _seconds(copy.import_),
            _megabytes(copy.export),
            _megabytes(copy.import_),
            self.verdict.text,
        ]

    def summary(self) -> str:
        """One line of progress."""
        export, import_ = self.copy.export, self.copy.import_
        return (
            f"{self.tool:<19} export {_seconds(export):>7} s {_megabytes(export):>5} MB   "
            f"import {_seconds(import_):>7} s {_megabytes(import_):>5} MB   "
            + (f"{self.verdict.text} rows verified" if self.ok else self.verdict.text)
        )


def _seconds(measurement: Measurement | None) -> str:
    if measurement is None:
        return "-"
    return "FAILED" if measurement.failed else f"{measurement.seconds:.2f}"


def _megabytes(measurement: Measurement | None) -> str:
    if measurement is None:
        return "-"
    if measurement.failed:
        return "FAILED"
    if measurement.peak_mb <= measurement.floor_mb:
        return f"≤{measurement.floor_mb:.0f}"
    return f"{measurement.peak_mb:.0f}"


def render(environment: list[str], results: list[Result]) -> str:
    """The whole report, in markdown."""
    parts = [
        "# devdata benchmark",
        "\n".join(environment),
        "\n".join(_table([r.cells() for r in results])),
    ]
    ratios = _ratios(results)
    if ratios:
        parts.append("## Ratios\n\n" + "\n".join(ratios))
    parts.append(NOTES)
    return "\n\n".join(parts)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max([len(name)] + [len(row[i]) for row in rows]) for i, name in enumerate(COLUMNS)]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if name in TEXT_COLUMNS else cell.rjust(width)
            for name, cell, width in zip(COLUMNS, cells, widths, strict=True)
        ]
        return f"| {' | '.join(padded)} |"

    rule = "|".join(
        "-" * (width + 2) if name in TEXT_COLUMNS else "-" * (width + 1) + ":"
        for name, width in zip(COLUMNS, widths, strict=True)
    )
    return [line(COLUMNS), f"|{rule}|", *(line(row) for row in rows)]


def _ratios(results: list[Result]) -> list[str]:
    """Ratios between tools of one vendor and scale, where both ran successfully."""
    lines = []
    cases = dict.fromkeys((r.vendor, r.scale) for r in results)
    for vendor, scale in cases:
        done = {r.tool: r.copy for r in results if (r.vendor, r.scale) == (vendor, scale) and r.ok}
        facts = _facts(done)
        if facts:
            lines.append(f"**{vendor} {format_scale(scale)}**\n")
            lines.extend(f"- {fact}" for fact in facts)
            lines.append("")
    return lines[:-1]


def _facts(done: dict[str, Copy]) -> list[str]:
    facts = []
    full = done.get("devdata-full")
    pg = done.get("pg_dump")
    dump = done.get("dumpdata")
    if full and pg:
        setup = pg.target_setup_seconds or 0.0
        facts.append(
            f"devdata full (export+import) / pg_dump+pg_restore: "
            f"{_total(full) / _total(pg):.1f}x ({_total(full):.2f} s / {_total(pg):.2f} s); "
            f"{_total(full) / (_total(pg) + setup):.1f}x counting pg_restore's untimed "
            f"target set-up ({setup:.2f} s)"
        )
    if full and pg:
        facts.append(
            f"devdata export / pg_dump: {_export(full) / _export(pg):.2f}x "
            f"({_export(full):.2f} s / {_export(pg):.2f} s)"
        )
    for jobs in (2, 4):
        parallel = done.get(f"devdata-jobs{jobs}")
        if full and parallel:
            facts.append(
                f"--jobs {jobs} against one job: export {_export(full) / _export(parallel):.2f}x "
                f"as fast ({_export(parallel):.2f} s), import "
                f"{_import(full) / _import(parallel):.2f}x ({_import(parallel):.2f} s)"
            )
        if pg and parallel:
            facts.append(
                f"devdata --jobs {jobs} (export+import) / pg_dump+pg_restore: "
                f"{_total(parallel) / _total(pg):.2f}x"
            )
    if full and dump:
        setup = dump.target_setup_seconds or 0.0
        facts.append(
            f"dumpdata+loaddata / devdata full: "
            f"{_total(dump) / _total(full):.1f}x ({_total(dump):.2f} s / {_total(full):.2f} s); "
            f"{(_total(dump) + setup) / _total(full):.1f}x counting loaddata's untimed target "
            f"set-up ({setup:.2f} s)"
        )
    anonymised = done.get("devdata-anonymised")
    if full and anonymised:
        facts.append(_anonymising_rate(full, anonymised))
    subset = done.get("devdata-subset")
    if full and subset:
        facts.append(
            f"devdata subset export / full export: {_export(subset) / _export(full):.2f} "
            f"({_export(subset):.2f} s / {_export(full):.2f} s)"
        )
    return facts


def _anonymising_rate(full: Copy, anonymised: Copy) -> str:
    """How fast rows with anonymised fields go through the export.

    Three figures: every row of the anonymised export per second of it; the Customer rows
    (the anonymised ones) per second of their own step, which devdata's log line times;
    and the Customer rows per second of what anonymising adds to the whole export.
    """
    assert anonymised.export is not None
    customers = anonymised.expected["bench.Customer"]
    rows = sum(anonymised.expected.values())
    facts = [f"{rows / _export(anonymised):,.0f} rows/s through the whole anonymised export"]
    step = _CUSTOMER_STEP.search(anonymised.export.stderr)
    if step and float(step["seconds"]):
        facts.append(
            f"{customers / float(step['seconds']):,.0f} Customer rows/s in their own step "
            f"({step['seconds']} s)"
        )
    extra = _export(anonymised) - _export(full)
    if extra > 0:
        facts.append(
            f"{customers / extra:,.0f} Customer rows/s of added time ({customers:,} rows / "
            f"({_export(anonymised):.2f} s - {_export(full):.2f} s full export))"
        )
    return "anonymised export (name, email, phone of each customer): " + "; ".join(facts)


#: devdata's log line for the Customer step of an export.
_CUSTOMER_STEP = re.compile(r"^bench\.Customer \(all\): [\d,]+ rows in (?P<seconds>[\d.]+)s$", re.M)


def _export(copy: Copy) -> float:
    assert copy.export is not None
    return copy.export.seconds


def _import(copy: Copy) -> float:
    assert copy.import_ is not None
    return copy.import_.seconds


def _total(copy: Copy) -> float:
    assert copy.export is not None and copy.import_ is not None
    return copy.export.seconds + copy.import_.seconds
