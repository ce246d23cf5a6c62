"""Build a database beside the one it replaces, and swap it in once the import committed.

A failed or killed import then leaves the old database exactly as it was. The new one
is built under a name derived from the old one's, the same in every run, so that what
a killed run left behind is found and dropped by the next (which holds the import lock,
:mod:`devdata_core.locks`, so no other run is using it).

PostgreSQL renames databases (both renames in one transaction); SQLite replaces the file
with ``os.replace``; MySQL moves every table in one ``RENAME TABLE``, which is atomic, and
makes the views again after it.
"""

from __future__ import annotations

import abc
import hashlib
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from . import databases
from .errors import DevdataError
from .errors import describe as describe_error

#: PostgreSQL's limit on identifiers, in bytes.
_POSTGRES_NAME_BYTES = 63
#: MySQL's limit on database names, in characters (ours are ASCII past the old name).
_MYSQL_NAME_CHARS = 64
#: The ``DEFINER=user@host`` clause of a MySQL ``SHOW CREATE VIEW`` statement.
_DEFINER = re.compile(r"DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*` ")
#: PostgreSQL's SQLSTATE for "database is being accessed by other users".
_OBJECT_IN_USE = "55006"
#: How long the swap keeps ending other sessions of the old database before giving up.
_SWAP_SECONDS = 5.0


def side_name(name: str, role: str, max_bytes: int = _POSTGRES_NAME_BYTES) -> str:
    """``<name>_devdata_<role>_<hash of name>``, cut to ``max_bytes`` of UTF-8.

    The same for every run, so the next run finds what a killed one left; the hash
    keeps names apart whose first bytes are the same.
    """
    suffix = f"_devdata_{role}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    head = name.encode()[: max_bytes - len(suffix)].decode(errors="ignore")
    return head + suffix


class _Side(abc.ABC):
    """Where one vendor builds the new database, and how it is swapped in."""

    #: The name the alias points at while the new database is built.
    scratch: str

    @abc.abstractmethod
    def clear_leftovers(self) -> None:
        """Drop what a killed run left: the new database it built, the old one it put aside."""

    @abc.abstractmethod
    def create(self) -> None:
        """Create the new, empty database."""

    @abc.abstractmethod
    def swap(self) -> None:
        """Put the new database in place of the old one, in one step."""

    @abc.abstractmethod
    def drop_scratch(self) -> None:
        """Drop the new database, after a failure."""


class _ServerSide(_Side):
    """A vendor where the new database is made on the server, beside the old one."""

    #: The longest database name the vendor takes.
    name_limit: int

    def __init__(self, database: str) -> None:
        self.database = database
        self.connection = connections[database]
        self.name = str(self.connection.settings_dict["NAME"])
        self.scratch = side_name(self.name, "new", self.name_limit)
        self.aside = side_name(self.name, "old", self.name_limit)

    def _quoted(self, name: str) -> str:
        return databases.quote_identifier(self.connection, name)

    def clear_leftovers(self) -> None:
        with databases.server_cursor(self.connection) as cursor:
            for name in (self.scratch, self.aside):
                try:
                    cursor.execute(databases.drop_database_sql(cursor, name))
                except DatabaseError as exc:
                    raise DevdataError(
                        f"cannot drop database {name!r}, which an earlier import of "
                        f"{databases.describe(self.database)} left: {describe_error(exc)}; "
                        "drop it as its owner, then import again; nothing was changed"
                    ) from exc

    def create(self) -> None:
        suffix = self.connection.creation.sql_table_creation_suffix()
        with databases.server_cursor(self.connection) as cursor:
            try:
                cursor.execute(f"CREATE DATABASE {self._quoted(self.scratch)}{suffix}")
            except DatabaseError as exc:
                raise DevdataError(
                    f"cannot create database {self.scratch!r} beside "
                    f"{databases.describe(self.database)} (alias {self.database!r}) to build "
                    f"the import in: {describe_error(exc)}; if this user may not create "
                    "databases, import with --reset-mode=drop-tables; nothing was changed"
                ) from exc

    def drop_scratch(self) -> None:
        with databases.server_cursor(self.connection) as cursor:
            cursor.execute(databases.drop_database_sql(cursor, self.scratch))


class _PostgresSide(_ServerSide):
    name_limit = _POSTGRES_NAME_BYTES

    def swap(self) -> None:
        """Rename the old database aside and the new one into place, together; drop the old.

        Renaming needs the old database to have no other sessions (a dev server's): they
        are ended first, as ``DROP DATABASE ... WITH (FORCE)`` would, for a few seconds
        if new ones keep arriving.
        """
        deadline = time.monotonic() + _SWAP_SECONDS
        with databases.server_cursor(self.connection) as cursor:
            while True:
                try:
                    self._rename(cursor)
                    break
                except DatabaseError as exc:
                    cursor.execute("ROLLBACK")
                    in_use = databases.sqlstate(exc) == _OBJECT_IN_USE
                    if in_use and time.monotonic() < deadline:
                        time.sleep(0.1)
                        continue
                    fix = (
                        "close the programs using it and import again"
                        if in_use
                        else "if this user may not, import with --reset-mode=drop-tables"
                    )
                    raise DevdataError(
                        f"cannot put the new database in place of "
                        f"{databases.describe(self.database)} (alias {self.database!r}): "
                        f"{describe_error(exc)}; {fix}; the old database is unchanged"
                    ) from exc
            with suppress(DatabaseError):  # if not now, the next run drops it
                cursor.execute(databases.drop_database_sql(cursor, self.aside))

    def _rename(self, cursor: Any) -> None:
        cursor.execute(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
            "WHERE datname = ANY(%s) AND pid <> pg_catalog.pg_backend_pid()",
            [[self.name, self.scratch]],
        )
        cursor.execute("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", [self.name])
        exists = cursor.fetchone() is not None
        cursor.execute("BEGIN")
        if exists:
            cursor.execute(
                f"ALTER DATABASE {self._quoted(self.name)} RENAME TO {self._quoted(self.aside)}"
            )
        cursor.execute(
            f"ALTER DATABASE {self._quoted(self.scratch)} RENAME TO {self._quoted(self.name)}"
        )
        cursor.execute("COMMIT")


class _MysqlSide(_ServerSide):
    """The new database's tables are moved into the old one's place in one ``RENAME TABLE``
    (atomic: all of them or none), the old tables into a database aside, dropped after.

    Views cannot move to another database: the new database's are made again in the old
    one's place right after the tables moved (until then the old views, which name their
    tables, read the new tables). Triggers, routines and events cannot move at all, so a
    database that holds any is dropped and created again in place instead.
    """

    #: Objects ``RENAME TABLE`` refuses to carry, and where MySQL lists them.
    _UNMOVABLE = (
        ("TRIGGERS", "TRIGGER_SCHEMA", "TRIGGER_NAME"),
        ("ROUTINES", "ROUTINE_SCHEMA", "ROUTINE_NAME"),
        ("EVENTS", "EVENT_SCHEMA", "EVENT_NAME"),
    )

    name_limit = _MYSQL_NAME_CHARS

    def unmovable(self, name: str) -> list[str]:
        """What database ``name`` holds that cannot move: ``trigger x``, ``routine y``..."""
        found = []
        with databases.server_cursor(self.connection) as cursor:
            for table, schema_column, name_column in self._UNMOVABLE:
                cursor.execute(
                    f"SELECT {name_column} FROM information_schema.{table} "
                    f"WHERE {schema_column} = %s",
                    [name],
                )
                found += [f"{table.lower()[:-1]} {row[0]}" for row in cursor.fetchall()]
        return found

    def swap(self) -> None:
        """One ``RENAME TABLE``: the old tables aside, the new ones into place; then the
        views; then drop both side databases. Sessions holding the old tables (a dev
        server's open transaction) get a few seconds to let go."""
        unmovable = self.unmovable(self.scratch)
        if unmovable:
            raise DevdataError(
                f"the migrations made {', '.join(unmovable)} in the new database, which MySQL "
                f"cannot move into {databases.describe(self.database)}; import with "
                "--reset-mode=drop-tables; the old database is unchanged"
            )
        suffix = self.connection.creation.sql_table_creation_suffix()
        with databases.server_cursor(self.connection) as cursor:
            try:
                views = self._views(cursor)
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {self._quoted(self.name)}{suffix}")
                cursor.execute(f"CREATE DATABASE {self._quoted(self.aside)}{suffix}")
                moves = [
                    f"{self._quoted(self.name)}.{self._quoted(t)} TO "
                    f"{self._quoted(self.aside)}.{self._quoted(t)}"
                    for t in self._tables(cursor, self.name)
                ] + [
                    f"{self._quoted(self.scratch)}.{self._quoted(t)} TO "
                    f"{self._quoted(self.name)}.{self._quoted(t)}"
                    for t in self._tables(cursor, self.scratch)
                ]
                cursor.execute(f"SET SESSION lock_wait_timeout = {int(_SWAP_SECONDS)}")
                if moves:
                    cursor.execute(f"RENAME TABLE {', '.join(moves)}")
            except DatabaseError as exc:
                raise DevdataError(
                    f"cannot put the new tables in place of those of "
                    f"{databases.describe(self.database)} (alias {self.database!r}): "
                    f"{describe_error(exc)}; close the programs using it and import again; "
                    "the old database is unchanged"
                ) from exc
            self._replace_views(cursor, views)
            with suppress(DatabaseError):  # if not now, the next run drops them
                for name in (self.aside, self.scratch):
                    cursor.execute(databases.drop_database_sql(cursor, name))

    def _views(self, cursor: Any) -> dict[str, str]:
        """The new database's views, as statements that make them in the old one's place."""
        cursor.execute(
            "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
            [self.scratch],
        )
        views = {}
        for (view,) in cursor.fetchall():
            cursor.execute(f"SHOW CREATE VIEW {self._quoted(self.scratch)}.{self._quoted(view)}")
            statement = cursor.fetchone()[1]
            # The definer may be a user this one cannot name; the view then runs as whoever
            # imports, like every other object the import made.
            statement = _DEFINER.sub("", statement, count=1)
            statement = statement.replace(f"{self._quoted(self.scratch)}.", "")
            views[view] = "CREATE OR REPLACE " + statement.removeprefix("CREATE ")
        return views

    def _replace_views(self, cursor: Any, views: dict[str, str]) -> None:
        """Make ``views`` in the database now in place, dropping the old views it held.

        A view may read another: those that fail are tried again until a round makes none.
        """
        cursor.execute(f"USE {self._quoted(self.name)}")
        cursor.execute(
            "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
            [self.name],
        )
        for (view,) in cursor.fetchall():
            if view not in views:
                cursor.execute(f"DROP VIEW IF EXISTS {self._quoted(view)}")
        pending = dict(views)
        while pending:
            failed: dict[str, str] = {}
            error: DatabaseError | None = None
            for view, statement in pending.items():
                try:
                    cursor.execute(statement)
                except DatabaseError as exc:
                    failed[view], error = statement, exc
            if error is not None and len(failed) == len(pending):
                raise DevdataError(
                    f"the new tables of {databases.describe(self.database)} are in place, but "
                    f"view {next(iter(failed))!r} could not be made again: "
                    f"{describe_error(error)}; import again"
                ) from error
            pending = failed

    @staticmethod
    def _tables(cursor: Any, name: str) -> list[str]:
        cursor.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "AND TABLE_TYPE <> 'VIEW'",
            [name],
        )
        return [row[0] for row in cursor.fetchall()]


class _SqliteSide(_Side):
    def __init__(self, database: str) -> None:
        self.database = database
        self.path = Path(connections[database].settings_dict["NAME"])
        self.scratch = f"{self.path}.devdata-new"

    def clear_leftovers(self) -> None:
        databases.remove_sqlite_files(self.scratch)

    def create(self) -> None:
        """Nothing to do: SQLite creates the file when the import first connects."""

    def swap(self) -> None:
        """Replace the old file with the new one, leaving no journal of the old beside it.

        The new file is made to stand alone (no WAL); the old one's WAL is checkpointed
        and emptied first, so that a kill after the replace leaves beside the new file at
        most an empty WAL, which SQLite ignores.
        """
        try:
            with _sqlite(self.scratch) as new:
                new.execute("PRAGMA journal_mode=DELETE")
            if self.path.exists():
                _checkpoint(self.path)
            os.replace(self.scratch, self.path)
        except (OSError, sqlite3.Error) as exc:
            raise DevdataError(
                f"cannot put the new database in place of {databases.describe(self.database)} "
                f"({exc}): is another program, such as a dev server, writing to it? Import "
                "again once it is done; the old database is unchanged"
            ) from exc
        databases.remove_sqlite_files(str(self.path), databases.SQLITE_SIDE_FILES)

    def drop_scratch(self) -> None:
        databases.remove_sqlite_files(self.scratch)


def _checkpoint(path: Path) -> None:
    """Move what the WAL of SQLite file ``path`` holds into the file, and empty the WAL."""
    try:
        with _sqlite(str(path)) as old:
            if old.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                busy = old.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if busy:
                    raise sqlite3.OperationalError("database is locked")
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError:
        pass  # not a database: nothing in it to keep


@contextmanager
def _sqlite(path: str) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master")  # rolls back a hot journal
        yield connection
    finally:
        connection.close()


def _side(connection: BaseDatabaseWrapper, database: str) -> _Side | None:
    if connection.vendor == "postgresql":
        return _PostgresSide(database)
    if databases.is_sqlite_file(connection):
        return _SqliteSide(database)
    if connection.vendor == "mysql":
        side = _MysqlSide(database)
        return None if side.unmovable(side.name) else side
    return None


@contextmanager
def built_beside(database: str) -> Iterator[bool]:
    """Point alias ``database`` at a new, empty database; swap it in if the block succeeds.

    Yields whether the old database survives a failure: ``False`` where it is dropped
    and created again in place instead (a MySQL database holding triggers, routines or
    events; an in-memory or ``file:`` URI SQLite database). If
    the block raises, the new database is dropped and the alias points at the old one.
    """
    connection = connections[database]
    side = _side(connection, database)
    if side is None:
        databases.recreate_database(database)
        yield False
        return
    databases.refuse_in_transaction(database)
    side.clear_leftovers()
    side.create()
    settings = connection.settings_dict
    name = settings["NAME"]
    _close(connection)
    settings["NAME"] = side.scratch
    try:
        yield True
    except BaseException:
        _point_back(connection, name)
        with suppress(DatabaseError, OSError):  # if not now, the next run drops it
            side.drop_scratch()
        raise
    _point_back(connection, name)
    try:
        side.swap()
    except BaseException:
        with suppress(DatabaseError, OSError):
            side.drop_scratch()
        raise


def _point_back(connection: BaseDatabaseWrapper, name: str) -> None:
    """Close the alias's connection to the new database and point it at ``name`` again."""
    with suppress(DatabaseError):
        _close(connection)
    connection.settings_dict["NAME"] = name


def _close(connection: BaseDatabaseWrapper) -> None:
    """Close the alias's connection, and its pool (psycopg 3's ``OPTIONS["pool"]``), which
    would otherwise keep serving connections to the database it was made for."""
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()
