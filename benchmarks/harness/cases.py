"""A case: one vendor at one scale, with its source database ready and its target to fill.

Nothing here is timed into the table: generating the source, and creating and migrating
a target for the tools that need one made for them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .process import check, manage
from .servers import Server


@dataclass(frozen=True)
class Case:
    """The source database of ``scale`` on ``server``, as the tools find it."""

    server: Server
    scale: int
    #: Database table per benchmark model label.
    tables: dict[str, str]
    #: Rows per benchmark model label in the source.
    source_rows: dict[str, int]

    @property
    def source(self) -> str:
        return self.server.source(self.scale)

    @property
    def target(self) -> str:
        return self.server.target()


def prepare(server: Server, scale: int) -> tuple[Case, str]:
    """Create, migrate and fill the source database unless it is ready; say which it was."""
    server.create(f"src_{scale}", replace=False)
    source = server.source(scale)
    check(manage(source, "migrate", "--no-input"))
    generated = check(manage(source, "bench_generate", f"--scale={scale}"))
    found = inventory(source)
    return Case(server, scale, found["tables"], found["rows"]), generated.stdout.strip()


def prepare_target(case: Case) -> float:
    """Create the target database empty and migrate it; the seconds that took."""
    started = time.perf_counter()
    case.server.create("dst", replace=True)
    check(manage(case.target, "migrate", "--no-input"))
    return time.perf_counter() - started


def inventory(database_url: str) -> dict[str, Any]:
    """``bench_counts`` of a database: ``tables``, ``rows`` and ``orphans`` by label."""
    return json.loads(check(manage(database_url, "bench_counts")).stdout)
