"""Run one step of the benchmark as a subprocess: its wall time, its own peak memory, its output."""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
MANAGE = BENCH_DIR / "manage.py"
#: Lines of a failed step's output shown to the user.
TAIL_LINES = 20


@dataclass(frozen=True)
class Measurement:
    """A finished subprocess."""

    step: str
    seconds: float
    #: Peak resident set size of this process (and any it waited for), in MB.
    peak_mb: float
    #: The harness's own peak RSS when it spawned the process, in MB. Linux counts the
    #: spawner's high-water mark into the child's at exec, so ``peak_mb`` is never lower:
    #: a step that peaks at ``floor_mb`` used that much or less.
    floor_mb: float
    exit_code: int
    stdout: str
    stderr: str

    @property
    def failed(self) -> bool:
        return self.exit_code != 0

    def tail(self) -> str:
        """The end of the output, where errors are: stderr, else stdout."""
        lines = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return "\n".join(lines[-TAIL_LINES:])


class StepFailed(Exception):
    """A step exited with a non-zero status."""

    def __init__(self, measurement: Measurement) -> None:
        super().__init__(f"{measurement.step} exited with status {measurement.exit_code}")
        self.measurement = measurement


def run(step: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Measurement:
    """Run ``argv`` to completion, with stdin from /dev/null and its output captured.

    The process is spawned and reaped with ``wait4``, which returns the rusage of that
    child alone; ``RUSAGE_CHILDREN`` would give the maximum over every child so far.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        floor_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        pid = os.posix_spawnp(argv[0], list(argv), dict(env or os.environ), file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Measurement(
            step=step,
            seconds=seconds,
            peak_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            floor_mb=floor_mb,
            exit_code=os.waitstatus_to_exitcode(status),
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def manage(
    database_url: str, *args: str, extra_env: Mapping[str, str] | None = None
) -> Measurement:
    """Run ``benchmarks/manage.py *args`` with this interpreter against ``database_url``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchsite.settings",
        "DATABASE_URL": database_url,
        **(extra_env or {}),
    }
    return run(args[0], [sys.executable, str(MANAGE), *args], env)


def check(measurement: Measurement) -> Measurement:
    """``measurement``, or StepFailed if its process failed."""
    if measurement.failed:
        raise StepFailed(measurement)
    return measurement
