"""Holds an export between polls.Question and polls.Choice until a writer has moved on.

Loaded through DEVDATA_PLUGINS by tests/test_snapshot.py, with
``DEVDATA_TEST_WRITER_PROGRESS`` naming the file in which ``polls_writer`` keeps its
newest generation. After the questions are exported, the export waits until the writer
has committed so many transactions that none of those questions exists any more: an
export that reads the choices at another moment than the questions then finds no choice
of an exported question, every time.
"""

import json
import time
from pathlib import Path

from django.conf import settings

from devdata_core import hookimpl
from testsite.polls.models import Question

TIMEOUT = 60


@hookimpl
def devdata_after_export_model(database, dest, model, rows):
    if model is not Question:
        return
    lines = (Path(dest) / "polls.Question" / "all.jsonl").read_text().splitlines()
    generations = [int(json.loads(line)["fields"]["question_text"].split()[1]) for line in lines]
    wanted = max(generations) + len(generations) + 1
    progress = Path(settings.DEVDATA_TEST_WRITER_PROGRESS)
    deadline = time.monotonic() + TIMEOUT
    while int(progress.read_text()) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"polls_writer did not reach generation {wanted} in {TIMEOUT} s")
        time.sleep(0.01)
