from __future__ import annotations

import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from ... import archives, stores
from ...checks import check_before_export
from ...errors import ConfigError
from ...exporting import export
from ...plan import export_plan
from ...reporting import Reporter
from ...settings import DevdataSettings, load_settings, model_label, resolve_model
from ..base import DevdataCommand


class Command(DevdataCommand):
    help = (
        "Export a referentially intact, anonymised subset of the database, as configured "
        "in DEVDATA_STRATEGIES, for devdata_import."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "dest",
            nargs="?",
            default="devdata",
            help=(
                "Where to export to (default: devdata): a directory, an archive file "
                "(.tar, .tar.gz, .tgz, .tar.zst), - for stdout, or a URL (s3://..., with "
                "devdata-core[s3] installed)."
            ),
        )
        parser.add_argument(
            "only", nargs="*", metavar="app_label.ModelName", help="Export only these models."
        )
        parser.add_argument(
            "--storage",
            metavar="ALIAS",
            help=(
                "DEST is a name in this storage of Django's STORAGES "
                "(e.g. an S3 storage of django-storages); a name ending in / is a prefix."
            ),
        )
        self.add_database_argument(parser, "Database alias to export from (default: default).")
        parser.add_argument(
            "--format",
            choices=archives.FORMATS,
            help=(
                "Write an archive of this format whatever DEST's name says "
                f"(default: by DEST's ending; {stores.STREAM_FORMAT} for - and URLs)."
            ),
        )
        parser.add_argument(
            "--keep",
            type=int,
            metavar="N",
            help=(
                "DEST is a URL prefix ending in / (s3://bucket/devdata/): write a new archive "
                "under it, named for the time, and remove all but the N newest."
            ),
        )
        parser.add_argument(
            "--no-update",
            action="store_true",
            help=(
                "Keep the data files that still match the existing export's manifest; "
                "export only the others."
            ),
        )
        parser.add_argument(
            "--serializable-deferrable",
            action="store_true",
            help=(
                "PostgreSQL: read a SERIALIZABLE, READ ONLY, DEFERRABLE snapshot (as pg_dump "
                "does with this option) instead of REPEATABLE READ; it may wait to start."
            ),
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            metavar="N",
            help=(
                "PostgreSQL 14+: read with N connections sharing one snapshot (as pg_dump -j "
                "does), big tables read whole split between them (default: 1)."
            ),
        )
        parser.add_argument(
            "--plan",
            action="store_true",
            help=(
                "Print the order in which models are taken, how each is restricted or pulled "
                "and how many rows it would export; write nothing to dest."
            ),
        )

    def handle(
        self,
        *,
        dest: str,
        only: list[str],
        database: str,
        storage: str | None,
        no_update: bool,
        format: archives.Format | None,
        keep: int | None,
        plan: bool,
        serializable_deferrable: bool,
        jobs: int,
        verbosity: int,
        **_: Any,
    ) -> None:
        if jobs < 1:
            raise ConfigError(
                f"--jobs {jobs}: read with at least 1 connection; nothing was written"
            )
        if plan:
            if only:
                raise ConfigError(
                    "devdata_export --plan plans the whole export: leave out the model labels"
                )
            self.print_plan(database, load_settings(), serializable_deferrable)
            return
        if keep is not None and keep < 1:
            raise ConfigError(f"--keep {keep}: keep at least 1 export; nothing was written")
        store = stores.open_store(dest, format, keep, storage=storage)
        # From here on, what plugins print at import or in their hooks goes to stderr.
        with store.owning_stdout():
            self.export_to(
                store, only, database, no_update, serializable_deferrable, jobs, verbosity
            )

    def export_to(
        self,
        store: stores.Store,
        only: list[str],
        database: str,
        no_update: bool,
        serializable: bool,
        jobs: int,
        verbosity: int,
    ) -> None:
        settings = load_settings()
        only_models = []
        for label in only:
            model = resolve_model(label, "devdata_export arguments")._meta.concrete_model
            if model not in settings.strategies:
                raise ConfigError(
                    f"devdata_export arguments: {label!r} has no strategies to export; add it to "
                    "DEVDATA_STRATEGIES"
                )
            only_models.append(model)
        if not store.rewritable and (only_models or no_update):
            raise ConfigError(
                f"devdata_export {store.name}: an archive is written whole: export all models, "
                "without --no-update (or export to a directory); nothing was written"
            )
        reporter = (
            Reporter(self.stderr, self.stderr, verbosity, self.style)
            if store.uses_stdout
            else self.reporter(verbosity)
        )
        check_before_export(settings, database, reporter, only_models)
        with store.writing() as work:
            summary = export(
                database,
                work,
                settings,
                reporter,
                only_models,
                no_update,
                serializable=serializable,
                jobs=jobs,
            )
        reporter.success(summary.line(f"to {store.name}"))
        if only_models:
            reporter.detail(f"Models: {', '.join(model_label(m) for m in only_models)}")

    def print_plan(self, database: str, settings: DevdataSettings, serializable: bool) -> None:
        """Select what an export would, in a scratch directory, and describe it."""
        with tempfile.TemporaryDirectory(prefix="devdata-plan-") as scratch:
            dest = Path(scratch) / "export"
            summary = export(
                database,
                dest,
                settings,
                self.reporter(0),
                dry_run=True,
                serializable=serializable,
            )
        plan = export_plan(settings)
        self.stdout.write(
            f"Export plan of database {database!r}: {len(plan.order)} models, in this order"
        )
        for number, model in enumerate(plan.order, start=1):
            label = model_label(model)
            rows = summary.rows_by_model.get(label, 0)
            self.stdout.write(f"{number:>3}. {label}: {rows:,} row{'' if rows == 1 else 's'}")
            for line in plan.describe(model, database, summary.affected):
                self.stdout.write(f"       {line}")
        self.stdout.write(
            f"An export would write {summary.rows:,} rows of {summary.models} models; "
            "nothing was written."
        )
