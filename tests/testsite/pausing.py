"""Hooks that stop an export at a chosen point, for the tests that kill it there.

``DEVDATA_TEST_PAUSE`` names the point: ``row`` (inside polls.Choice, while its rows are
written), ``model`` (between polls.Question and polls.Choice) or ``commit`` (every file
written, before the manifest). There the export writes ``DEVDATA_TEST_MARKER`` and waits
to be killed; no test lets it wait out the minute. ``import`` stops an import after its
verification, before it loads a row, until the test writes ``DEVDATA_TEST_RESUME``.
"""

import os
import time
from pathlib import Path

from devdata_core import hookimpl


def pause(point: str) -> None:
    if os.environ.get("DEVDATA_TEST_PAUSE") != point:
        return
    Path(os.environ["DEVDATA_TEST_MARKER"]).write_text(str(os.getpid()))
    time.sleep(60)
    raise SystemExit(f"paused at {point!r} and nobody killed the export")


def pause_mid_file(*, obj, pii_value, **_context):
    """An anonymiser that pauses at the second Choice: the first is written already."""
    if obj.pk == 2:
        pause("row")
    return pii_value


@hookimpl
def devdata_before_export_model(model):
    if model._meta.label == "polls.Choice":
        pause("model")


@hookimpl
def devdata_after_export():
    pause("commit")


@hookimpl
def devdata_before_import():
    if os.environ.get("DEVDATA_TEST_PAUSE") != "import":
        return
    Path(os.environ["DEVDATA_TEST_MARKER"]).write_text(str(os.getpid()))
    resume = Path(os.environ["DEVDATA_TEST_RESUME"])
    deadline = time.monotonic() + 60
    while not resume.exists():
        if time.monotonic() > deadline:
            raise SystemExit("paused at 'import' and nobody resumed it")
        time.sleep(0.02)
