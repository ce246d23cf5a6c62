#!/usr/bin/env python
"""Benchmark devdata's export and import against dumpdata/loaddata and pg_dump/pg_restore.

For each vendor and scale: make sure the source database holds the benchmark's data
(generated once, then reused), copy it into the target database with every tool, each
step a timed subprocess whose peak memory is measured, check what arrived, and print a
markdown table. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import fcntl
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.shape import MIN_SCALE
from harness import environment
from harness.cases import Case, prepare
from harness.process import StepFailed
from harness.report import Result, render
from harness.scales import format_scale, parse_scale
from harness.servers import VAR_DIR, VENDORS, Server, ServerError, server
from harness.tools import TOOLS, Copy, Tool
from harness.verify import Verdict, verify


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if every tool ran and its copy verified, 1 otherwise."""
    args = parse_args(argv)
    with _only_run():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    servers = [server(vendor) for vendor in args.vendors]
    tools = [tool for name, tool in TOOLS.items() if name in args.tools]  # in the table's order
    for tool in tools:
        skipped = [s.vendor for s in servers if s.vendor not in tool.vendors]
        if skipped:
            only = ", ".join(tool.vendors)
            _log(f"{tool.name} runs on {only} only: skipped on {', '.join(skipped)}")
    header = environment.describe(servers, with_pg_dump=any(t.name == "pg_dump" for t in tools))
    results: list[Result] = []
    for db in servers:
        for scale in args.scales:
            results += bench_case(db, scale, [t for t in tools if db.vendor in t.vendors])
        if not args.keep:
            _drop_target(db)
    report = render(header, results)
    print(report)
    if args.output:
        args.output.write_text(report + "\n", encoding="utf-8")
    failed = [r for r in results if not r.ok]
    if failed:
        _log(f"{len(failed)} of {len(results)} runs failed or did not verify")
        return 1
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--scales",
        nargs="+",
        type=_scale,
        default=[10_000, 100_000],
        metavar="N",
        help="rows of the largest table, order lines: 10k, 100k, 1M or a number "
        "(default: 10k 100k)",
    )
    parser.add_argument(
        "--vendors",
        nargs="+",
        choices=VENDORS,
        default=["postgres"],
        help="databases to run on (default: postgres)",
    )
    parser.add_argument(
        "--tools",
        nargs="+",
        choices=list(TOOLS),
        default=list(TOOLS),
        help="tools to run (default: all; pg_dump on postgres only)",
    )
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the target databases at the end (they hold the last tool's copy)",
    )
    return parser.parse_args(argv)


def _scale(text: str) -> int:
    try:
        scale = parse_scale(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if scale < MIN_SCALE:
        raise argparse.ArgumentTypeError(f"scale {text} is below the minimum of {MIN_SCALE}")
    return scale


def bench_case(db: Server, scale: int, tools: list[Tool]) -> list[Result]:
    """Run ``tools`` on one vendor at one scale."""
    name = f"{db.vendor} {format_scale(scale)}"
    try:
        case, status = prepare(db, scale)
    except (StepFailed, ServerError, OSError) as error:
        verdict = Verdict(False, f"FAILED: source set-up: {error}")
        _log(f"{name}: source set-up failed: {_details(error)}")
        return [Result(t.name, db.vendor, scale, Copy(), verdict) for t in tools]
    _log(f"{name}: source {case.source}: {status}")
    return [run_tool(tool, case) for tool in tools]


def run_tool(tool: Tool, case: Case) -> Result:
    """Copy the source into the target with ``tool`` and verify it; failures are kept."""
    record = Copy()
    workdir = Path(tempfile.mkdtemp(prefix=f"{tool.name}-", dir=VAR_DIR))
    try:
        tool.copy(case, workdir, record)
        verdict = verify(case, record.expected)
    except (StepFailed, ServerError, OSError) as error:
        verdict = Verdict(False, f"FAILED: {error}")
        _log(f"  {tool.name} failed: {_details(error)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = Result(tool.name, case.server.vendor, case.scale, record, verdict)
    _log(f"  {result.summary()}")
    return result


@contextmanager
def _only_run() -> Iterator[None]:
    """Hold ``var/run.lock``: two runs would replace each other's target databases."""
    VAR_DIR.mkdir(exist_ok=True)
    with (VAR_DIR / "run.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"another benchmark run holds {lock.name}; wait for it to finish"
            ) from None
        yield


def _details(error: Exception) -> str:
    """The error, and for a failed step the end of its output."""
    if isinstance(error, StepFailed):
        tail = error.measurement.tail().replace("\n", "\n    | ")
        return f"{error}:\n    | {tail}"
    return str(error)


def _drop_target(db: Server) -> None:
    try:
        db.drop("dst")
    except ServerError as error:
        _log(f"could not drop the {db.vendor} target database: {error}")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
