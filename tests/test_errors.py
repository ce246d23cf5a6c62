"""Bad input: one line on stderr saying what is wrong, exit code 1, no traceback, nothing lost.

Each test runs the command in a subprocess, as a user would. Mistakes that never reach a
database run on SQLite only; those about the database run on each. Errors in settings
are tested in test_settings.py.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from test_export_files import make_polls

from sitefixtures import FAILED_IMPORT_LEAVES, OLD_DEV_QUESTIONS, dev_questions, drop_database
from sitetools import Site
from testsite.polls.models import Choice, Question

CHOICES_FILE = Path("polls.Choice", "all.jsonl")


def assert_error(result: subprocess.CompletedProcess, message: str) -> None:
    """The command failed with exactly ``message`` as its one line on stderr."""
    assert "Traceback" not in result.stderr
    assert (result.returncode, result.stderr) == (1, message + "\n")


def import_cli(site: Site, *args: str, src: Path | None = None) -> subprocess.CompletedProcess:
    """``devdata_import`` into dev, asking first: errors in the export come before the question."""
    src = site.export_dir if src is None else src
    return site.cli("devdata_import", str(src), "--database", site.dev, *args)


def files(directory: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


def append_line(path: Path, line: str) -> int:
    """Add ``line`` to an export file; return its line number."""
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.databases_only("sqlite")
def test_export_of_an_unknown_model_suggests_the_close_one_and_keeps_the_last_export(site):
    site.export()
    before = files(site.export_dir)

    result = site.cli("devdata_export", str(site.export_dir), "polls.Questoin")

    assert_error(
        result,
        "ConfigError: devdata_export arguments: 'polls.Questoin' is not an installed model; "
        "did you mean 'polls.Question'?",
    )
    assert files(site.export_dir) == before


@pytest.mark.databases_only("sqlite")
def test_export_into_a_file_says_so(site, tmp_path):
    dest = tmp_path / "devdata"
    dest.write_text("not a directory")

    result = site.cli("devdata_export", str(dest))

    assert_error(
        result,
        f"ConfigError: {dest} is a file: name an archive .tar, .tar.gz or .tar.zst, pass "
        "--format, or export to a directory; nothing was written",
    )
    assert dest.read_text() == "not a directory"


def test_corrupt_line_is_located_and_the_dev_database_is_kept(dev_with_old_rows):
    site = dev_with_old_rows
    path = site.export_dir / CHOICES_FILE
    number = append_line(path, '{"model": "polls.choice", "pk": 3 "fields": {}}')
    site.reseal_export()

    result = import_cli(site)

    assert_error(
        result,
        f"DataFileError: {path}:{number}: not valid JSON at column 35 (Expecting ',' delimiter); "
        "the file is corrupt: export it again",
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_row_without_fields_is_located_and_the_dev_database_is_kept(dev_with_old_rows):
    site = dev_with_old_rows
    path = site.export_dir / CHOICES_FILE
    number = append_line(path, '{"model": "polls.choice", "pk": 3}')
    site.reseal_export()

    result = import_cli(site)

    assert_error(
        result,
        f'DataFileError: {path}:{number}: line is not a {{"model", "pk", "fields"}} object; '
        "the file is corrupt: export it again",
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_missing_export_directory(site, tmp_path):
    result = import_cli(site, src=tmp_path / "nowhere")

    assert_error(
        result,
        f"DataFileError: export directory {tmp_path / 'nowhere'} does not exist: run "
        "devdata_export first, or pass the directory or archive that holds the export",
    )


@pytest.mark.databases_only("sqlite")
def test_export_given_as_a_file_that_is_no_archive(site, tmp_path):
    archive = tmp_path / "devdata.tar.gz"
    archive.write_bytes(b"not a directory")

    result = import_cli(site, src=archive)

    assert_error(
        result,
        f"DataFileError: {archive} is not a complete .tar.gz archive (BadGzipFile: Not a "
        "gzipped file (b'no')): it is truncated or corrupt; export it again; nothing was changed",
    )


@pytest.mark.databases_only("sqlite")
def test_missing_data_file_of_a_strategy(dev_with_old_rows):
    site = dev_with_old_rows
    (site.export_dir / CHOICES_FILE).unlink()
    site.reseal_export()

    result = import_cli(site)

    assert_error(
        result,
        f"DataFileError: {site.export_dir / CHOICES_FILE} is missing (strategy 'all' of "
        "polls.Choice): export it with devdata_export, or remove the strategy",
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_unknown_reset_mode_lists_the_installed_ones(site):
    site.export()

    result = import_cli(site, "--reset-mode", "drop-everything")

    assert_error(
        result,
        "PluginError: reset mode 'drop-everything' not found: is its plugin installed? "
        "Installed: drop-database, drop-tables, none, require-empty",
    )


@pytest.mark.databases_only("sqlite")
def test_unknown_database_alias_lists_the_configured_ones(site):
    site.export()

    result = site.cli("devdata_import", str(site.export_dir), "--database", "staging")

    assert_error(
        result,
        "CommandError: --database 'staging' is not in DATABASES; choose one of: "
        + ", ".join(settings.DATABASES),
    )


@pytest.mark.databases_only("postgres")
@pytest.mark.parametrize("command", ["devdata_export", "devdata_import"])
def test_unreachable_database_is_named_in_one_line(site, command):
    """The PostgreSQL aliases of a run pointed at a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dev = connections[site.dev].settings_dict
    name = dev["NAME"].removesuffix("_dev")
    site.export()
    alias = site.src if command == "devdata_export" else site.dev

    result = site.cli(
        command,
        str(site.export_dir),
        "--database",
        alias,
        "--no-input" if command == "devdata_import" else "--no-update",
        DEVDATA_TEST_POSTGRES=f"postgres://{dev['USER']}@127.0.0.1:{port}/{name}",
    )

    database = connections[alias].settings_dict["NAME"]
    # psycopg 3 says "connection failed: " first; psycopg2 does not.
    driver = "connection failed: " if connections[alias].Database.__name__ == "psycopg" else ""
    assert_error(
        result,
        f"CommandError: database {database!r} on host 127.0.0.1:{port} (alias {alias!r}): "
        f'{driver}connection to server at "127.0.0.1", port {port} failed: Connection refused',
    )


def test_reference_to_a_row_not_exported_rolls_the_whole_import_back(site):
    """Choice 2 of Question 99, which the export lacks: dev keeps what it held."""
    question = Question.objects.using(site.src).create(pk=1, pub_date="2024-01-01T12:00Z")
    Choice.objects.using(site.src).create(pk=1, question=question)
    site.roundtrip()
    path = site.export_dir / CHOICES_FILE
    append_line(
        path,
        '{"model": "polls.choice", "pk": 2, "fields": '
        '{"question": 99, "choice_text": "", "votes": 0}}',
    )
    site.reseal_export()

    # -v 0 keeps the progress bars, which also go to stderr, out of the way.
    result = import_cli(site, "--no-input", "-v", "0")

    if site.vendor in ("sqlite", "mariadb"):
        problem = (
            "The row in table 'polls_choice' with primary key '2' has an invalid foreign key: "
            "polls_choice.question_id contains a value '99' that does not have a corresponding "
            "value in polls_question.id."
        )
    else:
        problem = (
            'insert or update on table "polls_choice" violates foreign key constraint '
            '"polls_choice_question_id_c5b4b260_fk_polls_question_id"; '
            'Key (question_id)=(99) is not present in table "polls_question".'
        )
    assert_error(
        result,
        f"DataFileError: the export at {site.export_dir} does not load intact ({problem}); "
        + FAILED_IMPORT_LEAVES,
    )
    assert (site.pks(Question), site.pks(Choice)) == ({1}, {1})


def test_import_creates_a_missing_database_that_a_system_check_queries(site):
    """The project's checks run before the reset; one that queries the database that
    the reset will create runs again once the import has made it."""
    make_polls(site)
    site.export()
    drop_database(site.dev)

    result = site.cli(
        "devdata_import",
        str(site.export_dir),
        "--database",
        site.dev,
        "--no-input",
        DEVDATA_TEST_CHECK_QUERIES=site.dev,
    )

    assert result.returncode == 0, result.stderr
    assert site.pks(Question) == {1, 2, 3}


@pytest.mark.databases_only("sqlite")
def test_a_failing_system_check_stops_the_import_before_the_reset(dev_with_old_rows):
    site = dev_with_old_rows
    site.export()

    result = site.cli(
        "devdata_import",
        str(site.export_dir),
        "--database",
        site.dev,
        "--no-input",
        DEVDATA_TEST_CHECK_ERROR="1",
    )

    assert result.returncode == 1
    assert "polls.E001" in result.stderr
    assert dev_questions(site) == OLD_DEV_QUESTIONS
