from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from ...anonymisation import detection
from ...checks import count
from ...errors import ConfigError
from ...settings import load_settings, model_label
from ..base import DevdataCommand

HEADINGS = ("model", "field", "why it looks personal", "suggested anonymiser")


class Command(DevdataCommand):
    help = (
        "List the exported fields that look personal and have no anonymiser, with an "
        "anonymiser to configure for each; exits 1 if there are any."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        self.add_database_argument(
            parser,
            f"Database whose values to sample, {detection.SAMPLE_SIZE} rows per text column "
            "(default: default).",
        )
        parser.add_argument(
            "--no-values",
            action="store_true",
            help="Look at field types and names only; read no database.",
        )
        parser.add_argument(
            "--settings-snippet",
            action="store_true",
            help=(
                "Print the findings as DEVDATA_MODEL_ANONYMISERS to paste into the settings "
                "(exits 0)."
            ),
        )

    def handle(self, *, database: str, no_values: bool, settings_snippet: bool, **_: Any) -> None:
        findings = detection.find_personal_fields(load_settings(), None if no_values else database)
        if settings_snippet:
            self.stdout.write(detection.settings_snippet(findings), ending="")
            return
        if not findings:
            self.stdout.write("No exported field looks personal without an anonymiser.")
            return
        self.stdout.write(table([_cells(f) for f in findings]))
        raise ConfigError(
            f"{count(findings)}: anonymise each or mark it keep() (devdata_pii "
            "--settings-snippet prints settings to paste)"
        )


def _cells(finding: detection.Finding) -> tuple[str, ...]:
    suggestion = (
        f"leave the model out: {model_label(finding.model)!r}: [] in DEVDATA_STRATEGIES"
        if finding.leave_out
        else finding.suggestion
    )
    return (model_label(finding.model), finding.field, finding.why, suggestion)


def table(rows: list[tuple[str, ...]]) -> str:
    """``rows`` under :data:`HEADINGS`, in columns as wide as their widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(HEADINGS, *rows, strict=True)]
    lines = [HEADINGS, tuple("-" * width for width in widths), *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
