"""What the numbers were measured on: machine, software versions, devdata's revision, date."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from .process import BENCH_DIR
from .servers import Server, ServerError

REPO_DIR = BENCH_DIR.parent


def describe(servers: list[Server], with_pg_dump: bool) -> list[str]:
    """Markdown list items, one fact each."""
    databases = [_version(server) for server in servers]
    if with_pg_dump:
        databases.append(_output(["pg_dump", "--version"]) or "pg_dump: not found")
    return [
        f"- Machine: {_cpu()}, {os.cpu_count()} cores, {_memory_gb():.0f} GB RAM",
        f"- Python {platform.python_version()}, Django {version('Django')}",
        f"- Databases: {'; '.join(databases)}",
        f"- devdata: {_revision()}",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{' '.join(['python', *sys.argv])}`",
    ]


def _version(server: Server) -> str:
    try:
        return server.version()
    except ServerError as error:
        return f"{server.vendor} unreachable ({error})"


def _cpu() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def _memory_gb() -> float:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2  # kB
    return 0.0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _revision() -> str:
    """The commit, and whether devdata's code differs from it."""
    commit = _output(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"])
    if not commit:
        return "unknown revision"
    changed = _output(
        ["git", "-C", str(REPO_DIR), "status", "--porcelain", "--", "devdata_core", "plugins"]
    )
    return f"{commit} with uncommitted changes to devdata_core/plugins" if changed else commit


def _output(argv: list[str]) -> str:
    """The first line ``argv`` prints, or an empty string if it cannot run or fails."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout.strip().partition("\n")[0] if done.returncode == 0 else ""
