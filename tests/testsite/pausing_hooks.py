"""Hooks that hold an import still half-way, for tests that kill it or race it.

With ``DEVDATA_TEST_PAUSE_DIR`` set, the import writes ``<dir>/paused`` once
``polls.Question`` is loaded, inside the import transaction, and waits (two minutes
at most) until the test creates ``<dir>/go``.
"""

import os
import time
from pathlib import Path

from devdata_core import hookimpl

#: The longest a paused import waits for the test.
PAUSE_SECONDS = 120


@hookimpl
def devdata_after_import_model(database, src, model, rows):
    directory = os.environ.get("DEVDATA_TEST_PAUSE_DIR")
    if not directory or model._meta.label != "polls.Question":
        return
    Path(directory, "paused").write_text(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_SECONDS
    while not Path(directory, "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
