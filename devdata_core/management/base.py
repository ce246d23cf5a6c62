"""What the ``devdata_*`` commands share: the database option and one-line errors."""

from __future__ import annotations

from argparse import ArgumentParser
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
            return super().execute(*args, **options)
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
