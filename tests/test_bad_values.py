"""Values the dev database would refuse: found before the reset, or located during the load.

Each test imports an export whose one value was damaged into a dev database that holds
earlier work (``dev_with_old_rows``), in a subprocess as a user would: the error is one
line naming the file, line, model, key and field, and the old dev database is unchanged.
"""

from __future__ import annotations

import datetime
import decimal
import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from test_import_safety import leftovers

from devdata_core import loading, swap
from sitefixtures import OLD_DEV_QUESTIONS, dev_questions
from sitetools import Site
from testsite.fidelity.models import Owner, Reading, Record
from testsite.polls.models import Choice

CHOICES = Path("polls.Choice", "all.jsonl")
RECORDS = Path("fidelity.Record", "all.jsonl")
READINGS = Path("fidelity.Reading", "all.jsonl")
UNCHANGED = "; the export does not fit this schema (export it again); nothing was changed"


@pytest.fixture
def exported(dev_with_old_rows: Site) -> Site:
    """``dev_with_old_rows``, with a record, an owner and two readings in production too,
    exported again (dev still holds the earlier import and the work done in it)."""
    site = dev_with_old_rows
    Record.objects.using(site.src).create(
        pk=1,
        happened_at=datetime.datetime(2024, 3, 1, 12, tzinfo=datetime.timezone.utc),
        day=datetime.date(2024, 3, 1),
        amount=decimal.Decimal("12.5"),
        payload={"a": [1, 2]},
        blob=b"\x00\x01",
        duration=datetime.timedelta(seconds=3),
        ratio=0.5,
        notes="fine",
    )
    Owner.objects.using(site.src).create(code="A1")
    Reading.objects.using(site.src).create(pk=1, level=5)
    Reading.objects.using(site.src).create(pk=2, level=6)
    site.export()
    return site


def damage(site: Site, path: Path, pk: Any, field: str, raw: str) -> int:
    """Write the JSON text ``raw`` as ``field`` (or the key, for ``"pk"``) of row ``pk``,
    with the manifest resealed so that the values themselves are what the import finds;
    return its line number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        row = json.loads(line)
        if row["pk"] == pk:
            if field == "pk":
                row["pk"] = "@DAMAGED@"
            else:
                row["fields"][field] = "@DAMAGED@"
            lines[number - 1] = json.dumps(row).replace('"@DAMAGED@"', raw)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            site.reseal_export()
            return number
    raise AssertionError(f"no row {pk!r} in {path}")


def import_cli(site: Site, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``devdata_import`` into dev, asking first: errors in the export come before the question."""
    return site.cli("devdata_import", str(site.export_dir), "--database", site.dev, *args, **env)


def assert_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert "Traceback" not in result.stderr
    assert (result.returncode, result.stderr) == (1, message + "\n")


CASES = {
    "string in an integer field": (
        CHOICES,
        10,
        "votes",
        '"abc"',
        "polls.Choice pk 10, field 'votes': “abc” value must be an integer",
    ),
    "key out of a 64-bit range": (
        READINGS,
        2,
        "pk",
        str(2**63),
        f"fidelity.Reading pk {2**63}, field 'id': {2**63} is out of range for BigAutoField "
        f"({-(2**63)} to {2**63 - 1})",
    ),
    "key of 400 digits": (
        CHOICES,
        10,
        "pk",
        "1" * 400,
        f"polls.Choice pk {'1' * 30}... (400 characters), field 'id': {'1' * 30}... "
        "(400 characters) is out of range for AutoField ({} to {})",
    ),
    "text longer than max_length": (
        CHOICES,
        10,
        "choice_text",
        json.dumps("é" * 201),
        "polls.Choice pk 10, field 'choice_text': 201 characters, more than max_length=200",
    ),
    "decimal with too many digits": (
        RECORDS,
        1,
        "amount",
        '"123456789.5"',
        "fidelity.Record pk 1, field 'amount': 123456789.5 does not fit the column's 14 digits, "
        "6 after the point (numeric overflow)",
    ),
    "decimal that rounds up past the column": (
        RECORDS,
        1,
        "amount",
        '"99999999.9999995"',
        "fidelity.Record pk 1, field 'amount': 99999999.9999995 does not fit the column's 14 "
        "digits, 6 after the point (numeric overflow)",
    ),
    "impossible date": (
        RECORDS,
        1,
        "day",
        '"2024-02-30"',
        "fidelity.Record pk 1, field 'day': “2024-02-30” value has the correct format "
        "(YYYY-MM-DD) but it is an invalid date",
    ),
    "null in a field that is not nullable": (
        RECORDS,
        1,
        "ratio",
        "null",
        "fidelity.Record pk 1, field 'ratio': null, but the column is NOT NULL",
    ),
    "bad UUID": (
        Path("fidelity.Owner", "all.jsonl"),
        None,
        "pk",
        '"not-a-uuid"',
        "fidelity.Owner pk 'not-a-uuid', field 'id': “not-a-uuid” is not a valid UUID",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_value_is_located_before_the_reset(exported, case):
    site = exported
    file, pk, field, raw, problem = CASES[case]
    path = site.export_dir / file
    if pk is None:  # The only row of the file.
        pk = json.loads(path.read_text())["pk"]
    number = damage(site, path, pk, field, raw)
    # The range of an AutoField's column on this database (SQLite's integers are all 64-bit).
    bits = 64 if site.vendor == "sqlite" else 32
    problem = problem.format(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)

    result = import_cli(site, "--no-input")

    assert_error(result, f"DataFileError: {path}:{number}: {problem}{UNCHANGED}")
    assert dev_questions(site) == OLD_DEV_QUESTIONS


def test_deeply_nested_json_is_located_before_the_reset(exported):
    site = exported
    path = site.export_dir / RECORDS
    number = damage(site, path, 1, "payload", "[" * 100_000 + "]" * 100_000)

    result = import_cli(site, "--no-input")

    assert_error(
        result,
        f"DataFileError: {path}:{number}: cannot read this JSON (values nested too deeply); "
        "the file is corrupt: export it again",
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("postgres")
@pytest.mark.parametrize(
    ("field", "raw", "problem"),
    [
        (
            "notes",
            '"a\\u0000b"',
            "'a\\x00b' holds a NUL character, which PostgreSQL does not store in text",
        ),
        (
            "payload",
            '{"k": "\\u0000"}',
            "a string in it holds a NUL character, which PostgreSQL's JSON refuses",
        ),
    ],
    ids=["text", "json"],
)
def test_nul_character_is_refused_before_the_reset_on_postgres(exported, field, raw, problem):
    site = exported
    path = site.export_dir / RECORDS
    number = damage(site, path, 1, field, raw)

    result = import_cli(site, "--no-input")

    assert_error(
        result,
        f"DataFileError: {path}:{number}: fidelity.Record pk 1, field {field!r}: {problem}"
        f"{UNCHANGED}",
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite", "mariadb")
def test_nul_character_is_kept_where_the_database_stores_it(exported):
    site = exported
    damage(site, site.export_dir / RECORDS, 1, "notes", '"a\\u0000b"')

    site.import_()

    assert Record.objects.using(site.dev).get(pk=1).notes == "a\x00b"


@pytest.mark.databases_only("postgres", "mariadb")
def test_values_are_checked_without_connecting_to_the_dev_database(exported):
    """The check runs before the reset, which may have to create the database first."""
    site = exported
    path = site.export_dir / CHOICES
    number = damage(site, path, 10, "votes", '"abc"')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = connections[site.dev].settings_dict
    scheme = "postgres" if site.vendor == "postgres" else "mysql"
    name = settings["NAME"].removesuffix("_dev")

    result = import_cli(
        site,
        "--no-input",
        **{
            f"DEVDATA_TEST_{site.vendor.upper()}": f"{scheme}://{settings['USER']}@127.0.0.1:{port}/{name}"
        },
    )

    assert_error(
        result,
        f"DataFileError: {path}:{number}: polls.Choice pk 10, field 'votes': “abc” value must be "
        f"an integer{UNCHANGED}",
    )


def check_violation(site: Site, built_beside: bool = False, pk: int = 2) -> str:
    """What the database says of reading ``pk`` when it breaks the CHECK constraint (MySQL
    names the database: the one built beside the dev database, if ``built_beside``)."""
    if site.vendor == "postgres":
        return (
            'new row for relation "fidelity_reading" violates check constraint '
            f'"fidelity_reading_level_gte_0"; Failing row contains ({pk}, -1)'
        )
    if site.vendor == "sqlite":
        return "CHECK constraint failed: fidelity_reading_level_gte_0"
    name = connections[site.dev].settings_dict["NAME"]
    if built_beside:
        name = swap.side_name(name, "new", 64)
    return (
        f"(4025, 'CONSTRAINT `fidelity_reading_level_gte_0` failed for "
        f"`{name}`.`fidelity_reading`')"
    )


@pytest.mark.parametrize("prefilled", [False, True], ids=["rows", "instances"])
def test_check_constraint_violation_is_located_and_nothing_is_committed(exported, prefilled):
    """Found during the load (Django does not know the constraint's meaning), under
    ``--reset-mode=none``: through the loader of rows into an empty table, and through
    instances into a table that holds rows already."""
    site = exported
    if prefilled:
        Reading.objects.using(site.dev).create(pk=1, level=7)
        connections[site.dev].close()
    before = site.pks(Reading)
    path = site.export_dir / READINGS
    number = damage(site, path, 2, "level", "-1")

    result = import_cli(site, "--reset-mode=none", "-v", "0")

    assert_error(
        result,
        f"DataFileError: {path}:{number}: fidelity.Reading pk 2: the database refused the row: "
        f"{check_violation(site)}; nothing was imported",
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS
    assert site.pks(Reading) == before
    assert site.pks(Choice) == {10, 20, 51}


def test_with_jobs_the_check_finds_the_first_bad_value_as_one_job_does(exported):
    """``--jobs`` checks a file's parts in several processes: the error is still the first
    bad line's, found before the reset."""
    site = exported
    Reading.objects.using(site.src).bulk_create(Reading(pk=pk, level=pk) for pk in range(3, 3000))
    site.export()
    path = site.export_dir / READINGS
    first = damage(site, path, 1000, "level", '"abc"')
    damage(site, path, 2900, "level", '"def"')

    one_job, two_jobs = (import_cli(site, "--jobs", jobs, "-v", "0") for jobs in ("1", "2"))

    message = (
        f"DataFileError: {path}:{first}: fidelity.Reading pk 1000, field 'level': “abc” value "
        f"must be an integer{UNCHANGED}"
    )
    assert_error(one_job, message)
    assert_error(two_jobs, message)
    assert dev_questions(site) == OLD_DEV_QUESTIONS


def test_a_refused_row_deep_in_a_large_file_is_located(exported):
    """PostgreSQL loads a file by one ``COPY``: when the database refuses a row past the
    first batch, the statement is taken back and the row found by its line."""
    site = exported
    Reading.objects.using(site.src).bulk_create(
        Reading(pk=pk, level=pk) for pk in range(3, loading.BATCH_SIZE + 500)
    )
    site.export()
    path = site.export_dir / READINGS
    pk = loading.BATCH_SIZE + 300
    number = damage(site, path, pk, "level", "-1")
    assert number > loading.BATCH_SIZE

    result = import_cli(site, "--reset-mode=none", "-v", "0")

    assert_error(
        result,
        f"DataFileError: {path}:{number}: fidelity.Reading pk {pk}: the database refused the "
        f"row: {check_violation(site, pk=pk)}; nothing was imported",
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


def test_check_constraint_violation_after_the_reset_is_located(exported):
    site = exported
    path = site.export_dir / READINGS
    number = damage(site, path, 2, "level", "-1")

    result = import_cli(site, "--no-input", "-v", "0")

    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"DataFileError: {path}:{number}: fidelity.Reading pk 2: the database refused the row: "
        f"{check_violation(site, built_beside=True)}; nothing was imported"
    )
    assert result.stderr.count("\n") == 1
    # The import builds beside the old database, which stays as it was.
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("postgres")
def test_check_constraint_violation_in_a_worker_process_is_located_the_same(exported):
    """With --jobs the readings load in a worker process: its error is the one line one
    job gives, and the old database stays as it was."""
    site = exported
    path = site.export_dir / READINGS
    number = damage(site, path, 2, "level", "-1")

    result = import_cli(site, "--no-input", "-v", "0", "--jobs", "2")

    assert_error(
        result,
        f"DataFileError: {path}:{number}: fidelity.Reading pk 2: the database refused the row: "
        f"{check_violation(site)}; nothing was imported and the old database is unchanged",
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS
    assert leftovers(site) == []
