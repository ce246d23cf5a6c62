"""Every reset mode over a dev database that already holds data, on every database."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path

import pytest
from django.core.management import CommandError
from django.db import DatabaseError, connections, transaction
from django.db.migrations.loader import MigrationLoader

from devdata_core import databases, swap
from devdata_core.errors import DevdataError
from devdata_core.testing import ResetModeContract
from devdata_reset import DropDatabaseReset, DropTablesReset, NoReset, RequireEmptyReset
from sitefixtures import OLD_DEV_QUESTIONS, dev_questions
from sitetools import Site
from testsite.polls.models import Choice, Question

MIGRATION_VIEW = "photofeed_photo_count"
#: Objects made in the dev database by hand, not by Django: a table and a view on its tables.
STRAY_TABLE = "stray_notes"
STRAY_VIEW = "stray_questions"
#: PostgreSQL only: a materialized view, which needs its own DROP statement.
STRAY_MATERIALIZED_VIEW = "stray_question_counts"


@pytest.fixture
def dev_with_stray_objects(dev_with_old_rows: Site) -> Site:
    """``dev_with_old_rows``, plus a table (with a row) and views made in dev by hand."""
    site = dev_with_old_rows
    statements = [
        f"CREATE TABLE {STRAY_TABLE} (id integer PRIMARY KEY, note varchar(50))",
        f"INSERT INTO {STRAY_TABLE} VALUES (1, 'keep me?')",
        f"CREATE VIEW {STRAY_VIEW} AS SELECT id, question_text FROM polls_question",
    ]
    if site.vendor == "postgres":
        statements.append(
            f"CREATE MATERIALIZED VIEW {STRAY_MATERIALIZED_VIEW} AS "
            "SELECT count(*) AS questions FROM polls_question"
        )
    with connections[site.dev].cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    connections[site.dev].close()
    return site


def relations(site: Site) -> set[str]:
    """Tables and views in the dev database, as Django's introspection sees them."""
    connection = connections[site.dev]
    with connection.cursor() as cursor:
        names = set(connection.introspection.table_names(cursor, include_views=True))
    connection.close()
    return names


def assert_holds_exactly_the_export(site: Site) -> None:
    assert dev_questions(site) == {1: "Prod one", 2: "Prod two"}
    assert site.pks(Choice) == {10, 20}


@pytest.fixture
def fresh_database(site: Site, tmp_path) -> Iterator[str]:
    """An extra alias, like the dev one, for a database whose name needs quoting.

    On a server the database is created empty; on SQLite the file does not exist yet.
    The alias is added to ``connections.settings`` for this test only: Django reads
    ``DATABASES`` once, so overriding the setting would not reach the connections.
    """
    alias = "fresh"
    template = connections.settings[site.dev]
    if site.vendor == "sqlite":
        name = str(tmp_path / "devdata test-Dev.sqlite3")
    else:
        name = f"{template['NAME']} test-Dev"
    connections.settings[alias] = {**template, "NAME": name}
    maintenance = connections[site.dev]
    quoted = maintenance.ops.quote_name(name)
    if site.vendor != "sqlite":
        with maintenance._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
            cursor.execute(f"CREATE DATABASE {quoted}")
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]
        if site.vendor != "sqlite":
            with maintenance._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")


class TestResetModeContract(ResetModeContract):
    @pytest.fixture(
        params=[DropDatabaseReset, DropTablesReset, NoReset, RequireEmptyReset],
        ids=lambda cls: cls.slug,
    )
    def reset_mode(self, request):
        return request.param()


def test_drop_database_leaves_exactly_the_export(dev_with_stray_objects):
    site = dev_with_stray_objects

    site.import_(reset_mode="drop-database")

    assert_holds_exactly_the_export(site)
    assert not {STRAY_TABLE, STRAY_VIEW, STRAY_MATERIALIZED_VIEW} & relations(site)
    assert MIGRATION_VIEW in relations(site)


def test_drop_tables_leaves_the_export_and_only_tables_django_does_not_know(dev_with_stray_objects):
    site = dev_with_stray_objects

    site.import_(reset_mode="drop-tables")

    assert_holds_exactly_the_export(site)
    found = relations(site)
    assert not {STRAY_VIEW, STRAY_MATERIALIZED_VIEW} & found
    assert MIGRATION_VIEW in found
    with connections[site.dev].cursor() as cursor:
        cursor.execute(f"SELECT note FROM {STRAY_TABLE}")
        assert list(cursor.fetchall()) == [("keep me?",)]


def test_none_merges_replacing_rows_with_the_same_key(dev_with_stray_objects):
    """Choice 51, made in dev, stays with the Question 1 it references, which is replaced."""
    site = dev_with_stray_objects

    site.import_(reset_mode="none")

    assert dev_questions(site) == {1: "Prod one", 2: "Prod two", 50: "Made in dev"}
    assert site.pks(Choice) == {10, 20, 51}
    assert {STRAY_TABLE, STRAY_VIEW} <= relations(site)
    # Primary-key sequences point past every row, imported or already there.
    new = Question.objects.using(site.dev).create(question_text="New", pub_date="2024-03-01T12:00Z")
    assert new.pk > 50


def test_require_empty_refuses_a_database_with_tables_and_touches_nothing(dev_with_stray_objects):
    site = dev_with_stray_objects
    before = relations(site)

    with pytest.raises(DevdataError) as error:
        site.import_(reset_mode="require-empty")

    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(
        f"--reset-mode=require-empty: {databases.describe(site.dev)} is not empty "
        f"({len(before)} tables: {', '.join(sorted(before)[:5])}, ...); "
    )
    assert message.endswith("; empty it, or choose another reset mode")
    assert relations(site) == before
    assert dev_questions(site) == OLD_DEV_QUESTIONS


def test_require_empty_fills_an_empty_database(site, fresh_database):
    Question.objects.using(site.src).create(
        pk=7, question_text="Prod", pub_date="2024-01-01T12:00Z"
    )
    site.export()
    site.dev = fresh_database

    site.import_(reset_mode="require-empty")

    assert site.pks(Question) == {7}


@pytest.mark.databases_only("sqlite")
def test_require_empty_accepts_an_empty_sqlite_file(site, fresh_database):
    Path(connections[fresh_database].settings_dict["NAME"]).touch()
    site.export()
    site.dev = fresh_database

    site.import_(reset_mode="require-empty")

    assert MIGRATION_VIEW in relations(site)


def test_drop_database_quotes_the_database_name(site, fresh_database):
    """``devdata test-Dev``: a space, a dash and capitals, as a raw name none would survive."""
    Question.objects.using(site.src).create(
        pk=7, question_text="Prod", pub_date="2024-01-01T12:00Z"
    )
    site.export()
    site.dev = fresh_database
    site.import_()
    Question.objects.using(site.dev).create(pk=8, question_text="Dev", pub_date="2024-01-01T12:00Z")

    site.import_(reset_mode="drop-database")

    assert site.pks(Question) == {7}


@pytest.mark.databases_only("sqlite")
def test_drop_database_empties_a_sqlite_database_named_by_a_uri(site, fresh_database):
    """A ``file:`` URI (Django opens SQLite with uri=True) names no file to delete."""
    path = connections.settings[fresh_database]["NAME"]
    connections.settings[fresh_database]["NAME"] = f"file:{path}?mode=rwc"
    Question.objects.using(site.src).create(
        pk=7, question_text="Prod", pub_date="2024-01-01T12:00Z"
    )
    site.export()
    site.dev = fresh_database
    site.import_()
    Question.objects.using(site.dev).create(pk=8, question_text="Dev", pub_date="2024-01-01T12:00Z")

    site.import_(reset_mode="drop-database")

    assert site.pks(Question) == {7}


def test_drop_database_ends_other_sessions_on_the_database(dev_with_old_rows):
    """A dev server still connected does not stop the import."""
    site = dev_with_old_rows
    other = connections.create_connection(site.dev)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM polls_question")

        site.import_(reset_mode="drop-database")
    finally:
        with suppress(DatabaseError):  # PostgreSQL ended the session
            other.close()

    assert_holds_exactly_the_export(site)


def test_drop_database_refuses_inside_a_transaction_and_changes_nothing(dev_with_old_rows):
    """Closing a connection in ``transaction.atomic`` does nothing: dropping would lose data."""
    site = dev_with_old_rows

    with pytest.raises(DevdataError) as error, transaction.atomic(using=site.dev):
        site.import_(reset_mode="drop-database")

    assert str(error.value) == (
        f"cannot drop {databases.describe(site.dev)} inside a transaction (alias "
        f"{site.dev!r} is in transaction.atomic): run the import outside it; nothing was changed"
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


#: An event trigger that refuses to drop polls_choice, as a table the user may not drop would.
PROTECT_CHOICES = """
CREATE FUNCTION protect_choices() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects()
               WHERE object_type = 'table' AND object_name = 'polls_choice') THEN
        RAISE EXCEPTION 'polls_choice is protected';
    END IF;
END $$;
CREATE EVENT TRIGGER protect_choices ON sql_drop EXECUTE FUNCTION protect_choices();
"""


@pytest.mark.databases_only("postgres")
def test_drop_tables_drops_all_or_nothing(dev_with_old_rows):
    site = dev_with_old_rows
    before = relations(site)
    with connections[site.dev].cursor() as cursor:
        cursor.execute(PROTECT_CHOICES)
    try:
        with pytest.raises(CommandError) as error:
            site.import_(reset_mode="drop-tables")
    finally:
        with connections[site.dev].cursor() as cursor:
            cursor.execute("DROP EVENT TRIGGER protect_choices")

    assert str(error.value) == (
        f"{databases.describe(site.dev)} (alias {site.dev!r}): polls_choice is protected"
    )
    assert relations(site) == before
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("postgres")
def test_what_extensions_own_is_neither_dropped_nor_counted(site, fresh_database):
    """pg_buffercache's view belongs to its extension, as PostGIS's tables belong to PostGIS."""
    site.export()
    site.dev = fresh_database
    try:
        with connections[site.dev].cursor() as cursor:
            cursor.execute("CREATE EXTENSION pg_buffercache")
    except DatabaseError as exc:
        reason = f"no pg_buffercache extension (PostgreSQL's contrib modules): {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must test it")
        pytest.skip(reason)

    site.import_(reset_mode="require-empty")
    site.import_(reset_mode="drop-tables")

    assert "pg_buffercache" in relations(site)


@pytest.fixture
def user_without_createdb(site: Site, fresh_database: str) -> Iterator[str]:
    """``fresh_database`` reached as a PostgreSQL role that may not drop or create databases."""
    role = f"{connections.settings[site.dev]['NAME']}_limited"
    maintenance = connections[site.dev]
    quoted = maintenance.ops.quote_name(role)
    with maintenance._nodb_cursor() as cursor:
        cursor.execute(f"CREATE ROLE {quoted} LOGIN NOCREATEDB")
    connections.settings[fresh_database]["USER"] = role
    try:
        yield fresh_database
    finally:
        connections[fresh_database].close()
        with maintenance._nodb_cursor() as cursor:
            cursor.execute(f"DROP ROLE {quoted}")


@pytest.mark.databases_only("postgres")
def test_drop_database_without_the_right_to_points_to_drop_tables(site, user_without_createdb):
    site.export()
    site.dev = user_without_createdb

    with pytest.raises(DevdataError) as error:
        site.import_(reset_mode="drop-database")

    scratch = swap.side_name(connections[site.dev].settings_dict["NAME"], "new")
    assert str(error.value) == (
        f"cannot create database {scratch!r} beside {databases.describe(site.dev)} (alias "
        f"{site.dev!r}) to build the import in: permission denied to create database; if this "
        "user may not create databases, import with --reset-mode=drop-tables; nothing was changed"
    )


def test_none_over_a_schema_without_migration_history(dev_with_old_rows):
    """Tables as a schema-only dump makes them: all there but turtles', no migration history.

    Apps whose every table exists count as migrated; turtles is migrated.
    """
    site = dev_with_old_rows
    with connections[site.dev].cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations")
        cursor.execute("DROP TABLE turtles_world")
        cursor.execute("DROP TABLE turtles_turtle")
    connections[site.dev].close()

    site.import_(reset_mode="none")

    assert dev_questions(site) == {1: "Prod one", 2: "Prod two", 50: "Made in dev"}
    assert {"turtles_turtle", "turtles_world", MIGRATION_VIEW} <= relations(site)
    loader = MigrationLoader(connections[site.dev])
    assert set(loader.graph.nodes) - set(loader.applied_migrations) == set()


@pytest.mark.databases_only("sqlite")
def test_drop_database_replaces_a_sqlite_file_whose_wal_holds_data(dev_with_old_rows):
    """A program holding the old file (in WAL mode) keeps seeing it; the new file is sound."""
    site = dev_with_old_rows
    path = connections[site.dev].settings_dict["NAME"]
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("UPDATE polls_question SET question_text = 'In the WAL' WHERE id = 2")
        assert Path(f"{path}-wal").stat().st_size > 0

        site.import_(reset_mode="drop-database")

        seen = holder.execute("SELECT question_text FROM polls_question WHERE id = 2").fetchone()
    finally:
        holder.close()
    assert seen == ("In the WAL",)
    assert_holds_exactly_the_export(site)
    with closing(sqlite3.connect(path)) as new:
        assert new.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_names_beside_a_database_fit_postgresql_and_stay_apart():
    """63 bytes at most, cut on a character boundary; names with the same start differ."""
    long_names = ["é" * 40 + "a", "é" * 40 + "b"]

    beside = [swap.side_name(name, "new") for name in long_names]

    assert all(len(name.encode()) <= 63 for name in beside)
    assert beside[0] != beside[1]
    assert swap.side_name("dev", "new") != swap.side_name("dev", "old")
