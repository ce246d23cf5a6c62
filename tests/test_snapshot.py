"""An export reads one snapshot of the source, writes nothing to it, and needs only SELECT."""

import os
import re
import threading
import time
import uuid
import warnings
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connections, transaction
from django.db.models import F
from test_export_files import make_polls
from test_streaming import table

from devdata_core import copy_export, exporting, hookimpl
from devdata_core.errors import ConfigError, DevdataError
from devdata_queryset import (
    ExactQuerySetStrategy,
    LatestSampleQuerySetStrategy,
    QuerySetStrategy,
)
from testsite.polls.models import Choice, Question

pytestmark = pytest.mark.usefixtures("intact")

#: Questions the writer keeps at any instant, and choices per question.
QUESTIONS, CHOICES = 5, 3
NOON = datetime(2024, 5, 6, 12, 0, tzinfo=timezone.utc)


def wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(0.01)


def generation(question_text: str) -> int:
    return int(question_text.split()[1])


@pytest.fixture
def wal(site):
    """SQLite in WAL mode, where a writer commits while a reader holds its snapshot.

    In rollback-journal mode the writer would wait for the export to end.
    """
    if site.vendor != "sqlite":
        yield
        return
    with connections[site.src].cursor() as cursor:
        cursor.execute("PRAGMA journal_mode = WAL")
    yield
    with connections[site.src].cursor() as cursor:
        cursor.execute("PRAGMA journal_mode = DELETE")
    connections[site.src].close()


@pytest.mark.usefixtures("wal")
def test_an_export_reads_one_instant_while_a_writer_changes_rows(site, tmp_path):
    """Between the questions and the choices the writer replaces every question.

    The hook in testsite/snapshot_hooks.py holds the export until it has; read
    outside a snapshot, the choices would all belong to questions the export lacks
    (and, the count of questions being unchanged, be written unchecked).
    """
    for number in range(1, QUESTIONS + 1):
        question = Question.objects.using(site.src).create(
            question_text=f"gen {number}", pub_date=NOON
        )
        for c in range(CHOICES):
            Choice.objects.using(site.src).create(
                question=question, choice_text=f"choice {c}", votes=QUESTIONS
            )
    progress = tmp_path / "progress"
    writer = site.start_cli(
        "polls_writer",
        f"--database={site.src}",
        f"--progress={progress}",
        f"--questions={QUESTIONS}",
        f"--choices={CHOICES}",
    )
    try:
        wait_for(
            lambda: progress.is_file() or writer.poll() is not None, "the writer's first commit"
        )
        assert writer.poll() is None, writer.stderr.read().decode()
        site.configure(
            DEVDATA_PLUGINS=["testsite.snapshot_hooks"],
            DEVDATA_TEST_WRITER_PROGRESS=str(progress),
        )
        site.export()
        assert writer.poll() is None, writer.stderr.read().decode()
    finally:
        writer.terminate()
        writer.wait(timeout=60)
        writer.stdout.close()
        writer.stderr.close()

    site.import_()

    questions = dict(Question.objects.using(site.dev).values_list("pk", "question_text"))
    generations = sorted(generation(text) for text in questions.values())
    newest = generations[-1]
    assert generations == list(range(newest - QUESTIONS + 1, newest + 1))
    choices = list(Choice.objects.using(site.dev).values_list("question_id", "votes"))
    assert sorted(question for question, _ in choices) == sorted(list(questions) * CHOICES)
    assert {votes for _, votes in choices} == {newest}


@pytest.fixture
def reader_url(site):
    """A database URL for the production database through a role that may only SELECT."""
    variable = f"DEVDATA_TEST_{site.vendor.upper()}"
    url = urlsplit(os.environ[variable])
    name, password = f"devdata_reader_{os.getpid()}", uuid.uuid4().hex
    connection = connections[site.src]
    database = connection.ops.quote_name(connection.settings_dict["NAME"])
    if site.vendor == "postgres":
        role = connection.ops.quote_name(name)
        create = [
            f"CREATE ROLE {role} LOGIN PASSWORD '{password}'",
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        ]
        drop = [f"DROP OWNED BY {role}", f"DROP ROLE {role}"]
    else:
        user = f"'{name}'@'%'"
        create = [
            f"CREATE USER {user} IDENTIFIED BY '{password}'",
            f"GRANT SELECT ON {database}.* TO {user}",
        ]
        drop = [f"DROP USER {user}"]
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    host = url.netloc.rpartition("@")[2]
    yield variable, urlunsplit(url._replace(netloc=f"{name}:{password}@{host}"))
    with connection.cursor() as cursor:
        for statement in drop:
            cursor.execute(statement)
    connection.close()


@pytest.mark.databases_only("postgres", "mariadb")
def test_a_role_that_may_only_select_exports_everything(site, reader_url):
    """What a read replica allows is enough: the export writes nothing to the source."""
    make_polls(site, questions=3, choices=2)
    variable, url = reader_url

    result = site.cli(
        "devdata_export", str(site.export_dir), f"--database={site.src}", **{variable: url}
    )

    assert result.returncode == 0, result.stderr
    site.import_()
    for model in (Question, Choice):
        assert table(model, site.dev) == table(model, site.src)


@pytest.mark.databases_only("postgres", "mariadb")
def test_the_role_of_the_read_replica_test_may_not_write(site, reader_url):
    """The test above proves something only if its role cannot write."""
    variable, url = reader_url

    result = site.cli(
        "shell",
        "-c",
        "from testsite.polls.models import Question; Question.objects.using("
        f"{site.src!r}).create(question_text='x', pub_date='2024-01-01T00:00Z')",
        **{variable: url},
    )

    assert result.returncode != 0
    assert not Question.objects.using(site.src).exists()


class Writes:
    """A hook that writes to the source during the export."""

    @hookimpl
    def devdata_before_export(self, database, dest, models):
        Question.objects.using(database).create(pk=100, question_text="written", pub_date=NOON)


def test_the_export_cannot_write_to_the_source(site, devdata_plugin):
    make_polls(site, questions=2, choices=1)
    devdata_plugin(Writes())

    with pytest.raises(DevdataError) as error:
        site.export()

    message = str(error.value)
    assert message.startswith("plugin ") and "devdata_before_export" in message
    assert re.search(r"read.?only", message, re.IGNORECASE), message
    assert "\n" not in message.strip()
    assert site.pks(Question, "src") == {1, 2}


class EndsTheTransaction:
    """A hook that would end the snapshot half-way, and read the rest at another moment."""

    def __init__(self, how):
        self.how = how

    @hookimpl
    def devdata_after_export_model(self, database, dest, model, rows):
        if self.how == "commit":
            transaction.commit(using=database)
        else:
            connections[database].close()


@pytest.mark.parametrize("how", ["commit", "close"])
def test_nothing_ends_the_snapshot_half_way(site, devdata_plugin, how):
    """Django refuses a commit inside ``atomic``, and a new connection after a close."""
    make_polls(site)
    devdata_plugin(EndsTheTransaction(how))

    with pytest.raises(DevdataError):
        site.export()


class TransactionState:
    """Records the transaction's characteristics as the export begins (PostgreSQL)."""

    seen: tuple = ()

    @hookimpl
    def devdata_before_export(self, database, dest, models):
        with connections[database].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('transaction_isolation'), "
                "current_setting('transaction_read_only'), "
                "current_setting('transaction_deferrable')"
            )
            self.seen = cursor.fetchone()


@pytest.mark.databases_only("postgres")
@pytest.mark.parametrize(
    "options, expected",
    [
        ({}, ("repeatable read", "on", "off")),
        ({"serializable_deferrable": True}, ("serializable", "on", "on")),
    ],
    ids=["default", "serializable-deferrable"],
)
def test_postgres_reads_a_read_only_snapshot(site, devdata_plugin, options, expected):
    make_polls(site)
    state = devdata_plugin(TransactionState())

    output = site.export(**options)

    assert state.seen == expected
    assert "serializable" not in output.stderr
    site.import_()
    assert site.pks(Choice) == site.pks(Choice, "src")


@pytest.mark.databases_only("sqlite", "mariadb")
def test_serializable_deferrable_elsewhere_warns_and_exports(site):
    make_polls(site)

    output = site.export(serializable_deferrable=True)

    display_name = {"sqlite": "SQLite", "mariadb": "MariaDB"}[site.vendor]
    assert (
        f"Warning: --serializable-deferrable is for PostgreSQL; alias {site.src!r} is "
        f"{display_name}, exported from one snapshot without it"
    ) in output.stderr.splitlines()
    site.import_()
    assert site.pks(Choice) == site.pks(Choice, "src")


def test_plan_reads_a_snapshot_too(site, devdata_plugin):
    """``--plan`` runs no hooks, so a write from a strategy shows it."""
    make_polls(site, questions=2, choices=1)

    class WritingStrategy(LatestSampleQuerySetStrategy):
        def get_queryset(self, django_dbname, dest, model):
            Question.objects.using(django_dbname).create(pk=100, question_text="w", pub_date=NOON)
            return super().get_queryset(django_dbname, dest, model)

    site.configure(DEVDATA_STRATEGIES={"polls.Question": [WritingStrategy(name="latest", count=1)]})

    with pytest.raises(DevdataError, match=r"(?i)read.?only"):
        site.plan()

    assert site.pks(Question, "src") == {1, 2}


def test_an_export_inside_a_transaction_reads_in_it(site):
    """As in a TestCase: rows the transaction has not committed are exported."""
    with transaction.atomic(using=site.src):
        make_polls(site, questions=2, choices=1)
        site.export()
        transaction.set_rollback(True, using=site.src)

    assert site.exported_pks("polls.Question") == {1, 2}
    assert not Question.objects.using(site.src).exists()


def test_rows_in_another_order_come_in_that_order_a_chunk_at_a_time(site, monkeypatch):
    """On MySQL such rows are read by key, after their keys (databases.stream_mysql)."""
    monkeypatch.setattr(exporting, "CHUNK_SIZE", 7)
    make_polls(site, questions=40, choices=0)
    Choice.objects.using(site.src).bulk_create(
        Choice(pk=pk, question_id=(pk + 1) // 2, votes=(pk * 7) % 80) for pk in range(1, 81)
    )
    site.configure(
        DEVDATA_STRATEGIES={
            "polls.Question": [ExactQuerySetStrategy(name="most", pks=range(1, 31))],
            "polls.Choice": [LatestSampleQuerySetStrategy(name="top", count=25, order_by="-votes")],
        }
    )

    site.export()

    top = Choice.objects.using(site.src).filter(question__lte=30).order_by("-votes")[:25]
    expected = list(top.values_list("pk", flat=True))
    assert [row["pk"] for row in site.exported("polls.Choice")["top"]] == expected


def test_queries_between_rows_lose_no_row(site, monkeypatch):
    """On MySQL rows stream through an unbuffered cursor on the connection that the
    anonymiser's query uses too: the rest of the result is read first.

    PyMySQL warns if a query cuts a streamed result short; here that fails the export.
    """
    # MySQL: 200 rows a query, read 100 at a time (Django's GET_ITERATOR_CHUNK_SIZE).
    monkeypatch.setattr(exporting, "CHUNK_SIZE", 20)
    make_polls(site, questions=150, choices=2)

    def questions(obj, field, pii_value, fake, dest):
        return f"{Question.objects.using(site.src).count()} questions"

    site.configure(DEVDATA_MODEL_ANONYMISERS={"polls.Choice": {"choice_text": questions}})

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        site.export()

    rows = site.exported("polls.Choice")["all"]
    assert sorted(row["pk"] for row in rows) == sorted(site.pks(Choice, "src"))
    assert {row["fields"]["choice_text"] for row in rows} == {"150 questions"}


def raw_query(value, expression, connection):
    """A converter, as a custom field may have, that queries through the raw driver.

    Django cannot see such a query: PyMySQL ends the streamed result at once, dropping
    the rows the cursor has not fetched yet.
    """
    with connection.connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return value


def make_choices(site, monkeypatch, field, converter):
    """300 choices with distinct votes, whose ``field`` goes through ``converter``.

    With CHUNK_SIZE 20, MySQL asks for 200 rows a query and fetches 100 at a time: a
    raw query while the first 100 are converted drops the rest.
    """
    monkeypatch.setattr(exporting, "CHUNK_SIZE", 20)
    monkeypatch.setattr(Choice._meta.get_field(field), "from_db_value", converter, raising=False)
    make_polls(site, questions=150, choices=0)
    Choice.objects.using(site.src).bulk_create(
        Choice(pk=pk, question_id=(pk + 1) // 2, votes=(pk * 7) % 300) for pk in range(1, 301)
    )


TOP = {"polls.Choice": [LatestSampleQuerySetStrategy(name="top", count=250, order_by="-votes")]}


@pytest.mark.databases_only("mariadb")
@pytest.mark.parametrize(
    "field, strategies, name",
    [("votes", TOP, "top"), ("id", TOP, "top"), ("votes", {}, "all")],
    ids=["rows-by-key", "keys", "key-order"],
)
def test_a_result_cut_short_loses_no_row_and_repeats_none(
    site, monkeypatch, field, strategies, name
):
    """Rows by key are asked for again, keys that go through a converter are read
    whole first, rows in key order go on after the last one read."""
    make_choices(site, monkeypatch, field, raw_query)
    site.configure(DEVDATA_STRATEGIES=strategies)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Previous unbuffered result was left incomplete")
        site.export()

    top = Choice.objects.using(site.src).order_by("-votes")[:250].values_list("pk", flat=True)
    expected = list(top) if strategies else list(range(1, 301))
    assert [row["pk"] for row in site.exported("polls.Choice")[name]] == expected


def shifted(value, expression, connection):
    """A key converter that does not round-trip: the row is not found by its key."""
    return value + 1000


@pytest.mark.databases_only("mariadb")
def test_a_row_that_does_not_come_back_by_its_key_stops_the_export(site, monkeypatch):
    make_choices(site, monkeypatch, "id", shifted)
    site.configure(DEVDATA_STRATEGIES=TOP)

    with pytest.raises(DevdataError) as error:
        site.export()

    message = str(error.value)
    assert message.startswith("polls.Choice row 1257 in database "), message
    assert "did not come back by its key" in message, message
    assert "\n" not in message.strip()


class ReversedQuerySetStrategy(QuerySetStrategy):
    """Every row, in reverse key order."""

    def get_queryset(self, django_dbname, dest, model):
        return super().get_queryset(django_dbname, dest, model).order_by("pk").reverse()


def test_rows_in_reverse_key_order_come_in_that_order(site, monkeypatch):
    """On MySQL ``reverse()`` keeps ``order_by("pk")`` but flips the direction: such
    rows are read by key, not after the last key read (10 rows a query)."""
    monkeypatch.setattr(exporting, "CHUNK_SIZE", 1)
    make_polls(site, questions=25, choices=0)
    site.configure(
        DEVDATA_STRATEGIES={"polls.Question": [ReversedQuerySetStrategy(name="reversed")]}
    )

    site.export()

    assert [row["pk"] for row in site.exported("polls.Question")["reversed"]] == list(
        range(25, 0, -1)
    )


def test_a_strategy_that_selects_nothing_exports_nothing(site):
    """An empty ``pk__in`` makes no SQL at all (Django's ``EmptyResultSet``)."""
    make_polls(site)
    site.configure(
        DEVDATA_STRATEGIES={"polls.Question": [ExactQuerySetStrategy(name="none", pks=[])]}
    )

    output = site.export()

    assert "Warning: strategy 'none' for polls.Question selected no rows" in output.stderr
    assert site.exported("polls.Question") == {"none": []}
    assert site.exported("polls.Choice") == {"all": []}


class WritesMeanwhile:
    """A hook that, once the export's snapshot is taken, commits changes on a connection
    of its own: to every page of the choices' table, and after its last page."""

    @hookimpl
    def devdata_before_export(self, database, dest, models):
        def write():
            try:
                choices = Choice.objects.using(database)
                choices.update(votes=F("votes") + 1)
                choices.filter(pk__in=[1, 300]).delete()
                choices.bulk_create([Choice(question_id=1, choice_text="late")] * 100)
            finally:
                connections[database].close()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join()


@pytest.mark.databases_only("postgres")
def test_every_job_reads_the_snapshot_while_a_writer_commits(site, devdata_plugin, monkeypatch):
    question = Question.objects.using(site.src).create(question_text="q", pub_date=NOON)
    Choice.objects.using(site.src).bulk_create(
        [Choice(question=question, choice_text=f"choice {n}") for n in range(1000)]
    )
    before = table(Choice, site.src)
    monkeypatch.setattr(copy_export, "SPLIT_PAGES", 2)
    devdata_plugin(WritesMeanwhile())

    output = site.export("--jobs", "3", verbosity=2).stdout

    print("OUT", output)
    assert table(Choice, site.src) != before  # the writer did commit
    site.import_()
    assert table(Choice, site.dev) == before


@pytest.mark.databases_only("mariadb", "sqlite")
def test_jobs_where_no_snapshot_can_be_shared_read_on_one_connection(site):
    make_polls(site, questions=3, choices=2)

    result = site.export("--jobs", "2")

    why = "MariaDB" if site.vendor == "mariadb" else "SQLite"
    assert result.stderr.count("--jobs 2") == 1
    assert f"--jobs 2: {why} cannot share a snapshot between connections; exported on one " in (
        result.stderr
    )
    site.import_()
    for model in (Question, Choice):
        assert table(model, site.dev) == table(model, site.src)


@pytest.mark.databases_only("sqlite")
def test_jobs_below_one_are_refused_in_one_line(site):
    make_polls(site, questions=1, choices=1)

    with pytest.raises(ConfigError) as error:
        site.export("--jobs", "0")

    assert str(error.value) == "--jobs 0: read with at least 1 connection; nothing was written"
    assert not site.export_dir.exists()
