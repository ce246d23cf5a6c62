from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from ... import databases, plugins
from ...errors import PluginError
from ...importing import run_import, verify_export
from ...plan import export_plan
from ...reporting import Reporter
from ...reset_modes import Reset
from ...settings import DevdataSettings, load_settings
from ..base import DevdataCommand

DEFAULT_RESET_MODE = "drop-database"


class Command(DevdataCommand):
    help = "Reset the database, build its schema and import an export made by devdata_export."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "src", nargs="?", default="devdata", help="Directory to import from (default: devdata)."
        )
        self.add_database_argument(parser, "Database alias to import into (default: default).")
        parser.add_argument(
            "--reset-mode",
            default=DEFAULT_RESET_MODE,
            help=(
                "How to prepare the database, one of the modes plugins provide "
                f"(see devdata_plugins; default: {DEFAULT_RESET_MODE})."
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

    def handle(
        self,
        *,
        src: str,
        database: str,
        reset_mode: str,
        interactive: bool,
        schema: str,
        check: bool,
        verbosity: int,
        **_: Any,
    ) -> None:
        settings = load_settings()
        if check:
            self.check_export(Path(src), settings, database, self.reporter(verbosity))
            return
        modes = plugins.reset_modes()
        if reset_mode not in modes:
            raise PluginError(
                f"reset mode {reset_mode!r} not found: is its plugin installed? "
                f"Installed: {', '.join(sorted(modes)) or 'none'}"
            )
        mode = modes[reset_mode]
        reporter = self.reporter(verbosity)

        def confirm() -> None:
            if interactive and mode.destructive:
                self.confirm(mode, database)

        summary = run_import(
            database, Path(src), settings, mode, reporter, schema_mode=schema, confirm=confirm
        )
        reporter.success(summary.line(f"into {databases.describe(database)}"))

    def check_export(
        self, src: Path, settings: DevdataSettings, database: str, reporter: Reporter
    ) -> None:
        """Read and verify the export as an import would before its reset, and stop there."""
        verified, rows = verify_export(src, export_plan(settings), database, reporter)
        files = f"{len(rows):,} data file{'' if len(rows) == 1 else 's'}"
        total = f"{sum(rows.values()):,} rows"
        if verified is None:
            reporter.success(f"OK: {src}: {files}, {total} read; no manifest to verify against")
        else:
            source = verified.source
            reporter.success(
                f"OK: {src}: {files}, {total} match its manifest (exported {verified.finished} "
                f"from {source['vendor']} database {source['database']!r}); no database touched"
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
