"""What the ``devdata_*`` commands share: the database option, one-line errors, and
cleaning up when stopped."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .. import databases
from ..checks import deferred
from ..errors import describe
from ..reporting import Reporter


class DevdataCommand(BaseCommand):
    def add_database_argument(self, parser: ArgumentParser, help: str) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help=help)

    def execute(self, *args: Any, **options: Any) -> Any:
        """Run the command; a database or file system error becomes one line, not a traceback."""
        database = options.get("database")
        if database is not None and database not in connections:
            raise CommandError(
                f"--database {database!r} is not in DATABASES; choose one of: "
                f"{', '.join(connections)}"
            )
        try:
            with _terminated_as_interrupted():
                return super().execute(*args, **options)
        except KeyboardInterrupt as exc:
            name = type(self).__module__.rpartition(".")[2]
            how = "SIGTERM" if isinstance(exc, _Terminated) else "Ctrl-C"
            raise CommandError(
                f"{name} stopped by {how} before it finished; its temporary files and "
                "databases were removed"
            ) from None
        except DatabaseError as exc:
            alias = database or DEFAULT_DB_ALIAS
            raise CommandError(
                f"{databases.describe(alias)} (alias {alias!r}): {describe(exc)}"
            ) from exc
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise CommandError(f"{where}{exc.strerror or describe(exc)}") from exc

    def check(self, *args: Any, **kwargs: Any) -> None:
        """Django's system checks but the personal-data one, which devdata_export runs
        itself (on the database it exports from, one line per finding)."""
        with deferred():
            super().check(*args, **kwargs)

    def reporter(self, verbosity: int) -> Reporter:
        return Reporter(self.stdout, self.stderr, verbosity, self.style)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, as Ctrl-C is."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM would cut the cleanup the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Terminated


@contextmanager
def _terminated_as_interrupted() -> Iterator[None]:
    """SIGTERM (a pod being stopped, ``timeout``) ends the command as Ctrl-C does, so that
    its cleanup runs: Python's default ends the process on the spot, which would leave a
    staged (anonymised) export in ``TMPDIR`` or a half-built database for the next run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        # None: a handler set outside Python, which cannot be put back; the default then.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
