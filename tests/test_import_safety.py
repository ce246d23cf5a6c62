"""devdata_import never leaves the user worse off.

Before a reset destroys data, it asks; no answer, or any but yes, changes nothing (these
run the command in a subprocess, with what the user types on its standard input). A
failed or killed import leaves the old database; two imports into one database do not race.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connections

from devdata_core import databases, hookimpl, swap
from devdata_core.errors import DevdataError
from sitefixtures import OLD_DEV_QUESTIONS, dev_questions
from sitetools import Site
from testsite.polls.models import Choice, Question

NO_TERMINAL = (
    "CommandError: no answer to the confirmation (no terminal?): pass --no-input to import "
    "without asking; nothing was changed\n"
)
CANCELLED = "CommandError: import cancelled; nothing was changed\n"


def import_asking(site: Site, *args: str, input: str = "") -> object:
    return site.cli(
        "devdata_import", str(site.export_dir), "--database", site.dev, *args, input=input
    )


def question(site: Site, mode: str, action: str) -> str:
    """The question, spelled out here rather than by the code under test."""
    settings = connections[site.dev].settings_dict
    if site.vendor == "sqlite":
        where = f"SQLite file {settings['NAME']}"
    else:
        where = f"database {settings['NAME']!r} on host {settings['HOST']}:{settings['PORT']}"
    return (
        f"devdata_import will {action} {where} (alias {site.dev!r}, --reset-mode={mode}).\n"
        "Continue? [y/N] "
    )


DESTRUCTIVE = [
    ("drop-database", "drop and re-create"),
    ("drop-tables", "drop every Django table and view in"),
]


@pytest.mark.parametrize(("mode", "action"), DESTRUCTIVE, ids=[m for m, _ in DESTRUCTIVE])
def test_no_cancels_and_changes_nothing(dev_with_old_rows, mode, action):
    site = dev_with_old_rows

    result = import_asking(site, f"--reset-mode={mode}", input="n\n")

    assert result.stdout == question(site, mode, action)
    assert (result.returncode, result.stderr) == (1, CANCELLED)
    assert dev_questions(site) == OLD_DEV_QUESTIONS


def test_yes_imports(dev_with_old_rows):
    site = dev_with_old_rows

    result = import_asking(site, input="y\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(question(site, "drop-database", "drop and re-create"))
    assert dev_questions(site) == {1: "Prod one", 2: "Prod two"}


@pytest.mark.databases_only("sqlite")
def test_without_a_terminal_it_refuses_and_says_how_to_import(dev_with_old_rows):
    site = dev_with_old_rows

    result = import_asking(site)

    assert (result.returncode, result.stderr) == (1, NO_TERMINAL)
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_no_input_imports_without_asking(dev_with_old_rows):
    site = dev_with_old_rows

    result = import_asking(site, "--no-input", "-v", "0")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert dev_questions(site) == {1: "Prod one", 2: "Prod two"}


@pytest.mark.databases_only("sqlite")
def test_ctrl_c_at_the_question_cancels_without_a_traceback(dev_with_old_rows):
    site = dev_with_old_rows
    process = site.start_cli("devdata_import", str(site.export_dir), "--database", site.dev)
    try:
        shown = read_until(process, b"[y/N] ", timeout=60)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()

    assert shown == question(site, "drop-database", "drop and re-create").encode()
    assert (process.returncode, (shown + stdout).decode(), stderr.decode()) == (
        1,
        question(site, "drop-database", "drop and re-create") + "\n",
        CANCELLED,
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


def read_until(process, end: bytes, timeout: float) -> bytes:
    """What the process writes to its stdout up to ``end``, which it writes last."""
    deadline = time.monotonic() + timeout
    output = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while not output.endswith(end):
            if not selector.select(deadline - time.monotonic()):
                raise TimeoutError(f"no {end!r} after {output!r}")
            chunk = os.read(process.stdout.fileno(), 1024)
            if not chunk:
                raise EOFError(f"{process.stderr.read().decode()} after {output!r}")
            output += chunk
    return output


def test_modes_that_destroy_nothing_do_not_ask(dev_with_old_rows):
    """``none`` merges without a terminal; ``require-empty`` refuses a used database in one line."""
    site = dev_with_old_rows

    merged = import_asking(site, "--reset-mode=none", "-v", "0")
    refused = import_asking(site, "--reset-mode=require-empty")

    assert (merged.returncode, merged.stdout, merged.stderr) == (0, "", "")
    assert dev_questions(site) == {1: "Prod one", 2: "Prod two", 50: "Made in dev"}
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith(
        f"DevdataError: --reset-mode=require-empty: {databases.describe(site.dev)} is not empty ("
    )
    assert refused.stderr.endswith("); empty it, or choose another reset mode\n")
    assert refused.stderr.count("\n") == 1


# Build, then swap; one import at a time ------------------------------------------------

#: The vendors where drop-database builds the new database beside the old one.
SWAPPING = ("sqlite", "postgres", "mariadb")


def start_paused_import(site: Site, pause_dir: Path, *args: str) -> subprocess.Popen:
    """Start an import that stops once polls.Question is loaded; return when it has."""
    process = site.start_cli(
        "devdata_import",
        str(site.export_dir),
        "--database",
        site.dev,
        "--no-input",
        *args,
        DJANGO_SETTINGS_MODULE="testsite.settings_pausing_import",
        DEVDATA_TEST_PAUSE_DIR=str(pause_dir),
    )
    deadline = time.monotonic() + 120
    while not (pause_dir / "paused").exists():
        if process.poll() is not None:
            raise AssertionError(f"the import ended first: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError("the import did not reach polls.Question")
        time.sleep(0.02)
    return process


def leftovers(site: Site) -> list[str]:
    """Databases or files a build-then-swap import made beside the dev database."""
    connection = connections[site.dev]
    name = connection.settings_dict["NAME"]
    if site.vendor == "sqlite":
        return sorted(p.name for p in Path(name).parent.glob(f"{Path(name).name}.devdata-new*"))
    catalog = {
        "postgres": "SELECT datname FROM pg_database WHERE datname IN (%s, %s)",
        "mariadb": "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
        "WHERE SCHEMA_NAME IN (%s, %s)",
    }[site.vendor]
    limit = 63 if site.vendor == "postgres" else 64
    with databases.server_cursor(connection) as cursor:
        cursor.execute(
            catalog, [swap.side_name(name, "new", limit), swap.side_name(name, "old", limit)]
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.databases_only(*SWAPPING)
def test_import_killed_mid_load_leaves_the_old_database_and_the_next_run_clears_up(
    dev_with_old_rows, tmp_path
):
    site = dev_with_old_rows
    process = start_paused_import(site, tmp_path)
    left = leftovers(site)  # the half-built database, while the import is paused

    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)

    assert dev_questions(site) == OLD_DEV_QUESTIONS
    assert left != []
    site.import_()
    assert dev_questions(site) == {1: "Prod one", 2: "Prod two"}
    assert leftovers(site) == []


def children(pid: int) -> set[int]:
    """The processes ``pid`` started that still run (Linux)."""
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.databases_only("postgres")
def test_parallel_import_killed_mid_load_leaves_the_old_database_and_its_workers_end(
    dev_with_old_rows, tmp_path
):
    site = dev_with_old_rows
    process = start_paused_import(site, tmp_path, "--jobs", "2")
    workers = children(process.pid)

    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)

    assert len(workers) >= 2
    deadline = time.monotonic() + 30
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(running(pid) for pid in workers), "a worker outlived the import"
    assert dev_questions(site) == OLD_DEV_QUESTIONS
    site.import_("--jobs", "2")
    assert dev_questions(site) == {1: "Prod one", 2: "Prod two"}
    assert leftovers(site) == []


@pytest.mark.databases_only(*SWAPPING)
def test_import_failing_in_a_hook_leaves_the_old_database(dev_with_old_rows, devdata_plugin):
    site = dev_with_old_rows

    class FailingAfterQuestions:
        @hookimpl
        def devdata_after_import_model(self, database, src, model, rows):
            if model is Question:
                raise RuntimeError("no coffee")

    devdata_plugin(FailingAfterQuestions(), name="failing")

    with pytest.raises(DevdataError, match="no coffee"):
        site.import_()

    assert dev_questions(site) == OLD_DEV_QUESTIONS
    assert leftovers(site) == []


@pytest.mark.databases_only("mariadb")
def test_a_mysql_database_with_a_trigger_is_replaced_in_place(dev_with_old_rows):
    """MySQL cannot move a table with a trigger to another database: the import drops and
    re-creates the database instead of building beside it, and still imports."""
    site = dev_with_old_rows
    with connections[site.dev].cursor() as cursor:
        cursor.execute(
            "CREATE TRIGGER polls_question_upper BEFORE INSERT ON polls_question "
            "FOR EACH ROW SET NEW.question_text = UPPER(NEW.question_text)"
        )

    site.import_()

    assert dev_questions(site) == {1: "Prod one", 2: "Prod two"}
    assert leftovers(site) == []


def test_a_second_import_into_the_same_database_refuses_naming_the_first(
    dev_with_old_rows, tmp_path
):
    site = dev_with_old_rows
    first = start_paused_import(site, tmp_path)
    try:
        second = import_asking(site, "--no-input")
        (tmp_path / "go").touch()
        _, stderr = first.communicate(timeout=120)
    finally:
        first.kill()

    assert second.returncode == 1
    assert second.stdout == ""
    assert second.stderr.startswith(
        f"DevdataError: another import into {databases.describe(site.dev)} is running ("
    )
    if site.vendor != "mariadb":  # MySQL names the other run by its connection
        assert f"devdata_import pid {first.pid} on " in second.stderr
    assert second.stderr.endswith(
        "): wait for it to finish, or stop it, and import again; nothing was changed\n"
    )
    assert second.stderr.count("\n") == 1
    assert first.returncode == 0, stderr.decode()
    assert dev_questions(site) == {1: "Prod one", 2: "Prod two"}
    assert site.pks(Choice) == {10, 20}
    assert site.dangling_in_database() == []
