"""The tools compared, and how each copies the source database into the target.

Every tool is two timed subprocesses, an export and an import; what a tool leaves in the
target is then checked against what it should hold (``verify``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .cases import Case, prepare_target
from .process import Measurement, check, manage, run
from .servers import VENDORS
from .verify import export_rows


@dataclass
class Copy:
    """What a tool did, recorded as it goes so that a failure keeps the steps before it."""

    export: Measurement | None = None
    import_: Measurement | None = None
    #: Rows per model label the target must hold.
    expected: dict[str, int] = field(default_factory=dict)
    #: Untimed creating and migrating of the target, for tools that do not do it themselves.
    target_setup_seconds: float | None = None

    def exported(self, measurement: Measurement) -> None:
        """Record the export step; StepFailed if it failed."""
        self.export = measurement
        check(measurement)

    def imported(self, measurement: Measurement) -> None:
        """Record the import step; StepFailed if it failed."""
        self.import_ = measurement
        check(measurement)


@dataclass(frozen=True)
class Tool:
    name: str
    copy: Callable[[Case, Path, Copy], None]
    vendors: tuple[str, ...] = VENDORS


def _devdata(bench_case: str, jobs: int = 1) -> Callable[[Case, Path, Copy], None]:
    """devdata_export, then devdata_import with the same settings (``BENCH_CASE``), each
    with ``--jobs``."""

    def copy(case: Case, workdir: Path, record: Copy) -> None:
        env = {"BENCH_CASE": bench_case, "BENCH_SCALE": str(case.scale)}
        export_dir = workdir / "export"
        parallel = [f"--jobs={jobs}"] if jobs > 1 else []
        record.exported(
            manage(case.source, "devdata_export", str(export_dir), *parallel, extra_env=env)
        )
        # A subset holds what the export selected: its files say how much.
        if bench_case == "subset":
            record.expected = export_rows(export_dir, case.tables)
        else:
            record.expected = case.source_rows
        record.imported(
            manage(
                case.target,
                "devdata_import",
                str(export_dir),
                "--no-input",
                "--reset-mode=drop-database",
                *parallel,
                extra_env=env,
            )
        )

    return copy


def _dumpdata(case: Case, workdir: Path, record: Copy) -> None:
    """dumpdata of the app as JSON Lines, loaddata into a fresh migrated target."""
    fixture = str(workdir / "bench.jsonl")
    record.exported(
        manage(case.source, "dumpdata", "bench", "--format=jsonl", f"--output={fixture}")
    )
    record.expected = case.source_rows
    record.target_setup_seconds = prepare_target(case)
    record.imported(manage(case.target, "loaddata", fixture))


def _pg_dump(case: Case, workdir: Path, record: Copy) -> None:
    """pg_dump of the tables' data, pg_restore into a fresh migrated target in one transaction.

    One transaction lets the deferred foreign keys Django creates accept rows in any order.
    """
    dump = str(workdir / "bench.dump")
    tables = [f"--table={table}" for table in case.tables.values()]
    record.exported(
        run(
            "pg_dump",
            ["pg_dump", "--format=custom", "--data-only", *tables, f"--file={dump}", case.source],
        )
    )
    record.expected = case.source_rows
    record.target_setup_seconds = prepare_target(case)
    record.imported(
        run(
            "pg_restore",
            ["pg_restore", "--data-only", "--single-transaction", f"--dbname={case.target}", dump],
        )
    )


TOOLS = {
    tool.name: tool
    for tool in [
        Tool("devdata-full", _devdata("full")),
        Tool("devdata-jobs2", _devdata("full", jobs=2)),
        Tool("devdata-jobs4", _devdata("full", jobs=4)),
        Tool("devdata-anonymised", _devdata("anonymised")),
        Tool("devdata-subset", _devdata("subset")),
        Tool("dumpdata", _dumpdata),
        Tool("pg_dump", _pg_dump, vendors=("postgres",)),
    ]
}
