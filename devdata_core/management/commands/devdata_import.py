from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import DatabaseError

from ... import databases, plugins, staging, stores
from ...errors import ConfigError, DevdataError, PluginError, shorten
from ...importing import run_import, verify_export
from ...plan import export_plan
from ...reporting import Reporter
from ...reset_modes import Reset
from ...settings import DevdataSettings, load_settings
from ..base import DevdataCommand

DEFAULT_RESET_MODE = "drop-database"


class Command(DevdataCommand):
    help = "Reset the database, build its schema and import an export made by devdata_export."
    # Run in handle: the project's checks or URLconf may query the database that the
    # reset is about to create.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "src",
            nargs="?",
            default="devdata",
            help=(
                "Export to import (default: devdata): a directory, an archive file (.tar, "
                ".tar.gz, .tar.zst; the format is read from its first bytes), - for stdin, "
                "a URL (s3://..., with devdata-core[s3] installed), or a URL prefix ending "
                "in / for the newest export under it that verifies."
            ),
        )
        parser.add_argument(
            "--storage",
            metavar="ALIAS",
            help=(
                "SRC is a name in this storage of Django's STORAGES "
                "(e.g. an S3 storage of django-storages); a name ending in / is a prefix."
            ),
        )
        self.add_database_argument(parser, "Database alias to import into (default: default).")
        parser.add_argument(
            "--reset-mode",
            default=DEFAULT_RESET_MODE,
            metavar="MODE",
            help=(
                f"How to prepare the database: {_reset_mode_choices()} (default: "
                f"{DEFAULT_RESET_MODE}). Plugins provide the modes; see devdata_plugins."
            ),
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation before a destructive reset.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help=(
                "Verify the export (its manifest, every file's checksum, every line) and "
                "touch no database."
            ),
        )
        parser.add_argument(
            "--schema",
            choices=["migrations", "models"],
            default="migrations",
            help=(
                "Build the schema by running migrations (default: views, functions and "
                "extensions they create included) or, faster, from the models alone."
            ),
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            metavar="N",
            help=(
                "Load tables in N processes at once (default: 1), as pg_restore --jobs: "
                "PostgreSQL with --reset-mode=drop-database only, else one job, with a warning."
            ),
        )
        parser.add_argument("--skip-checks", action="store_true", help="Skip system checks.")

    def handle(
        self,
        *,
        src: str,
        database: str,
        storage: str | None,
        reset_mode: str,
        interactive: bool,
        schema: str,
        check: bool,
        jobs: int,
        verbosity: int,
        skip_checks: bool,
        **_: Any,
    ) -> None:
        if jobs < 1:
            raise CommandError(f"--jobs {jobs}: give 1 or more processes; nothing was changed")
        settings = load_settings()
        reporter = self.reporter(verbosity)
        store = stores.open_store(src, warn=reporter.warn, storage=storage)
        if check:
            # Touches no database: system checks may query one, so they are left out.
            with store.reading() as local, store.naming(local, reporter):
                self.check_export(local, store, settings, database, reporter)
            return
        if isinstance(store, stores.Pipe) and interactive:
            raise ConfigError(
                "devdata_import -: the export comes on stdin, so there is no terminal to "
                "confirm the reset on: pass --no-input; nothing was changed"
            )
        checked = skip_checks or self.check_before_reset()
        modes = plugins.reset_modes()
        if reset_mode not in modes:
            raise PluginError(
                f"reset mode {reset_mode!r} not found: is its plugin installed? "
                f"Installed: {', '.join(sorted(modes)) or 'none'}"
            )
        mode = modes[reset_mode]

        def confirm() -> None:
            if interactive and mode.destructive:
                self.confirm(mode, database)

        with store.reading() as local, store.naming(local, reporter):
            if isinstance(store, stores.Remote) and store.prefix:
                reporter.info(f"Importing {store.name}, the newest export under {store.shown}")
            summary = run_import(
                database,
                local,
                settings,
                mode,
                reporter,
                schema_mode=schema,
                confirm=confirm,
                hashed=store.verifies,
                jobs=jobs,
            )
        if not checked:
            self.check_after_import(reporter)
        reporter.success(summary.line(f"into {databases.describe(database)}"))

    def check_export(
        self,
        src: Path,
        store: stores.Store,
        settings: DevdataSettings,
        database: str,
        reporter: Reporter,
    ) -> None:
        """Read and verify the export as an import would before its reset, and stop there
        (``src`` is where ``store`` is read, an archive's unpacked directory, say)."""
        shown = store.name
        with staging.reading(src):
            verified, rows = verify_export(
                src, export_plan(settings), database, reporter, store.verifies
            )
        files = f"{len(rows):,} data file{'' if len(rows) == 1 else 's'}"
        total = f"{sum(rows.values()):,} rows"
        if verified is None:
            reporter.success(f"OK: {shown}: {files}, {total} read; no manifest to verify against")
        else:
            source = verified.source
            reporter.success(
                f"OK: {shown}: {files}, {total} match its manifest (exported {verified.finished} "
                f"from {source['vendor']} database {source['database']!r}); no database touched"
            )

    def check_before_reset(self) -> bool:
        """Run Django's system checks; ``False`` if one of them queried a database that
        is not there (yet: the reset creates it), so that they run again after the import.

        Errors they find stop the import before anything is changed.
        """
        try:
            self.check()
        except DatabaseError:
            return False
        return True

    def check_after_import(self, reporter: Reporter) -> None:
        """Run the system checks that had to wait for the database; what they find is
        reported, but the import stands: it has committed."""
        try:
            self.check()
        except (CommandError, DatabaseError) as exc:
            found = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            reporter.warn(
                f"the import is done, but system checks failed: {shorten(found, 300)}; "
                "run manage.py check"
            )

    def confirm(self, mode: Reset, database: str) -> None:
        """Ask before a destructive reset; anything but yes, or no terminal, aborts."""
        try:
            self.stdout.write(
                f"devdata_import will {mode.description_for_confirmation} "
                f"{databases.describe(database)} (alias {database!r}, "
                f"--reset-mode={mode.slug}).\nContinue? [y/N] ",
                ending="",
            )
            self.stdout.flush()
            answer = input()
        except EOFError:
            self.stdout.write("")
            raise CommandError(
                "no answer to the confirmation (no terminal?): pass --no-input to import "
                "without asking; nothing was changed"
            ) from None
        except KeyboardInterrupt:
            answer = ""
            self.stdout.write("")
        if answer.strip().lower() not in ("y", "yes"):
            raise CommandError("import cancelled; nothing was changed")


def _reset_mode_choices() -> str:
    """The installed reset modes, for ``--help``: plugins load when the parser is built.

    If they cannot load, the command reports why when it runs.
    """
    try:
        return "one of " + ", ".join(sorted(plugins.reset_modes()))
    except DevdataError:
        return "one of the modes plugins provide"
