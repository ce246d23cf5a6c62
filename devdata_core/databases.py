"""What the engine, reset modes and extras need to know and do per database vendor.

Names are always quoted as identifiers, never formatted raw into SQL.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import IntegerField, Lookup, QuerySet
from django.db.models.fields import AutoFieldMixin
from django.db.models.sql.constants import GET_ITERATOR_CHUNK_SIZE
from django.db.models.sql.where import AND, WhereNode

from . import errors
from .errors import DevdataError
from .keys import KeySet

#: Relations, by the word their DROP statement needs: ``(name, kind)``.
Relation = tuple[str, str]

#: Every table and view the user (not an extension) made, in the schemas on the search
#: path. Partitions go with their table, so they are left out.
_POSTGRES_RELATIONS = """
    SELECT c.relname,
        CASE c.relkind
            WHEN 'v' THEN 'VIEW'
            WHEN 'm' THEN 'MATERIALIZED VIEW'
            WHEN 'f' THEN 'FOREIGN TABLE'
            ELSE 'TABLE'
        END
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema')
        AND pg_catalog.pg_table_is_visible(c.oid)
        AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_depend d
            WHERE d.classid = 'pg_catalog.pg_class'::regclass
                AND d.objid = c.oid
                AND d.deptype = 'e'
        )
    ORDER BY c.relname
"""

#: The files SQLite keeps beside a database file, by the suffix they add to its name.
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")

#: Django's warning when it falls back from the ``postgres`` maintenance database.
_NODB_FALLBACK_WARNING = "Normally Django will use a connection to the 'postgres' database"


def quote_identifier(connection: BaseDatabaseWrapper, name: str) -> str:
    """``name`` quoted as an SQL identifier, embedded quote characters doubled."""
    quote = "`" if connection.vendor == "mysql" else '"'
    return quote + name.replace(quote, quote * 2) + quote


def describe(database: str) -> str:
    """``'name' on host`` for the confirmation prompt and messages."""
    settings = connections[database].settings_dict
    if connections[database].vendor == "sqlite":
        return f"SQLite file {settings['NAME']}"
    host = settings.get("HOST") or "localhost (socket)"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"database {settings['NAME']!r} on host {host}{port}"


def _relations(connection: BaseDatabaseWrapper) -> list[Relation]:
    """Every table and view in the database (its default schema), Django's or not.

    On PostgreSQL, what an extension owns (PostGIS's ``spatial_ref_sys``, the view of
    ``pg_stat_statements``) belongs to the extension: it is left out, and cannot be
    dropped on its own anyway.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_RELATIONS)
            return [(name, kind) for name, kind in cursor.fetchall()]
        return [
            (info.name, "VIEW" if info.type == "v" else "TABLE")
            for info in sorted(connection.introspection.get_table_list(cursor))
        ]


def existing_tables(database: str) -> list[str]:
    """Names of every table and view in the database (its default schema), Django's or not."""
    return [name for name, _ in _relations(connections[database])]


def _drop(connection: BaseDatabaseWrapper, relations: list[Relation]) -> None:
    """Drop ``relations``, views first, and whatever depends on them.

    In one transaction: where DDL is transactional (PostgreSQL, SQLite), all or none.
    """
    cascade = " CASCADE" if connection.vendor == "postgresql" else ""
    ordered = sorted(relations, key=lambda relation: "VIEW" not in relation[1])
    with (
        connection.constraint_checks_disabled(),
        transaction.atomic(using=connection.alias),
        connection.cursor() as cursor,
    ):
        for name, kind in ordered:
            quoted = quote_identifier(connection, name)
            cursor.execute(f"DROP {kind} IF EXISTS {quoted}{cascade}")


def drop_tables(database: str) -> list[str]:
    """Drop the tables Django knows of and every view (migrations re-create theirs).

    On PostgreSQL and SQLite, if a drop fails, nothing is dropped. Returns the names dropped.
    """
    connection = connections[database]
    known = set(connection.introspection.django_table_names())
    known.add(MigrationRecorder.Migration._meta.db_table)
    doomed = [
        (name, kind) for name, kind in _relations(connection) if "VIEW" in kind or name in known
    ]
    _drop(connection, doomed)
    return [name for name, _ in doomed]


def refuse_in_transaction(database: str) -> None:
    """Refuse to replace a database while alias ``database`` is in ``transaction.atomic``.

    Closing a connection there does nothing, so the database could not be dropped.
    """
    if connections[database].in_atomic_block:
        raise DevdataError(
            f"cannot drop {describe(database)} inside a transaction (alias {database!r} is "
            "in transaction.atomic): run the import outside it; nothing was changed"
        )


@contextmanager
def server_cursor(connection: BaseDatabaseWrapper) -> Iterator[Any]:
    """A cursor on the server's maintenance database, for work on databases as a whole."""
    with warnings.catch_warnings():
        # When the 'postgres' database is out of reach Django uses another one, and says
        # so in a warning; an error that follows says what went wrong in one line.
        warnings.filterwarnings("ignore", _NODB_FALLBACK_WARNING, RuntimeWarning)
        with connection._nodb_cursor() as cursor:
            yield cursor


def drop_database_sql(cursor: Any, name: str) -> str:
    """``DROP DATABASE IF EXISTS`` for ``name``, ending its sessions on PostgreSQL 13+.

    ``cursor`` is a :func:`server_cursor`; the version comes from Django's
    ``pg_version``, which psycopg2 and psycopg 3 both give.
    """
    connection = cursor.db
    force = ""
    if connection.vendor == "postgresql" and connection.pg_version >= 130000:
        force = " WITH (FORCE)"  # ends the sessions of a dev server still running
    return f"DROP DATABASE IF EXISTS {quote_identifier(connection, name)}{force}"


def sqlstate(exc: DatabaseError) -> str | None:
    """The SQLSTATE of a PostgreSQL error, under psycopg2 (``pgcode``) or psycopg 3."""
    cause = exc.__cause__ or exc
    return getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)


def is_sqlite_file(connection: BaseDatabaseWrapper) -> bool:
    """Whether the SQLite database is a plain file (not in memory, not a ``file:`` URI)."""
    name = str(connection.settings_dict["NAME"])
    return connection.vendor == "sqlite" and name != ":memory:" and not name.startswith("file:")


def recreate_database(database: str) -> None:
    """Drop the database behind alias ``database`` and create it empty."""
    connection = connections[database]
    name = connection.settings_dict["NAME"]
    refuse_in_transaction(database)
    connection.close()
    if connection.vendor == "sqlite":
        _recreate_sqlite(connection, str(name))
        return
    quoted = quote_identifier(connection, name)
    with server_cursor(connection) as cursor:
        try:
            cursor.execute(drop_database_sql(cursor, name))
            suffix = connection.creation.sql_table_creation_suffix()
            cursor.execute(f"CREATE DATABASE {quoted}{suffix}")
        except DatabaseError as exc:
            raise DevdataError(
                f"cannot drop and re-create {describe(database)} (alias {database!r}): "
                f"{errors.describe(exc)}; if this user may not, import with "
                "--reset-mode=drop-tables"
            ) from exc


def _recreate_sqlite(connection: BaseDatabaseWrapper, name: str) -> None:
    """Delete the database file and its journals; empty an in-memory or URI database."""
    if not is_sqlite_file(connection):
        _drop(connection, _relations(connection))
        return
    try:
        remove_sqlite_files(name)
    except OSError as exc:
        raise DevdataError(
            f"cannot delete {exc.filename} ({exc.strerror}): is another program, such as a "
            "dev server, using it? Nothing was imported"
        ) from exc


def remove_sqlite_files(name: str, suffixes: tuple[str, ...] = ("", *SQLITE_SIDE_FILES)) -> None:
    """Delete SQLite file ``name`` and its journals (the files ``name + suffix``)."""
    for suffix in suffixes:
        Path(f"{name}{suffix}").unlink(missing_ok=True)


class KeysIn(Lookup):
    """``column IN keys``, with the keys sent as one value where the database allows.

    PostgreSQL gets one array (``= ANY(%s)``) and SQLite one JSON list (``IN (SELECT
    value FROM json_each(%s))``), so that the query stays small and its plan cheap
    however many keys there are; MySQL gets a plain ``IN (...)``, which
    :func:`key_batches` keeps to ``MYSQL_KEYS_PER_QUERY`` keys. Used as
    ``queryset.filter(KeysIn(F("customer_id"), keys))`` with a :class:`~.keys.KeySet`.
    """

    lookup_name = "devdata_keys_in"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.lhs)
        field = self.rhs.field
        if not self.rhs:
            return "1 = 0", []
        vendor = connection.vendor
        if vendor in ("postgresql", "sqlite") and _as_they_are(self.rhs):
            # A million integer keys as one text, not as a million Python ints that the
            # driver adapts one by one: tens of megabytes less, and seconds sooner.
            numbers = _joined(self.rhs)
            value: Any = f"{{{numbers}}}" if vendor == "postgresql" else f"[{numbers}]"
        else:
            keys = [field.get_db_prep_value(key, connection) for key in self.rhs]
            if vendor not in ("postgresql", "sqlite"):
                return f"{column} IN ({', '.join(['%s'] * len(keys))})", [*params, *keys]
            value = keys if vendor == "postgresql" else json.dumps(keys, default=str)
        if vendor == "postgresql":
            return f"{column} = ANY(%s::{field.cast_db_type(connection)}[])", [*params, value]
        return f"{column} IN (SELECT value FROM json_each(%s))", [*params, value]


def _as_they_are(keys: KeySet) -> bool:
    """Whether ``keys`` are integers that Django's integer fields send to the database
    unchanged (a field that converts them its own way gets its say)."""
    prepare = type(keys.field).get_db_prep_value
    return (
        keys.integers_only
        and isinstance(keys.field, IntegerField)
        and prepare in (IntegerField.get_db_prep_value, AutoFieldMixin.get_db_prep_value)
        and type(keys.field).get_prep_value is IntegerField.get_prep_value
    )


def _joined(keys: KeySet, chunk: int = 50_000) -> str:
    """The keys as decimal numbers separated by commas, joined a chunk at a time."""
    numbers = iter(keys)
    parts = []
    while part := ",".join(map(str, islice(numbers, chunk))):
        parts.append(part)
    return ",".join(parts)


#: Most keys one MySQL query sends in an ``IN`` list. Each query of a stream sends its
#: list again, and a query may not exceed ``max_allowed_packet`` (16 MB on MariaDB).
MYSQL_KEYS_PER_QUERY = 50_000


def key_batches(queryset: QuerySet) -> Iterator[QuerySet]:
    """``queryset`` on MySQL as querysets that each send at most ``MYSQL_KEYS_PER_QUERY``
    keys of its largest :class:`KeysIn`, whose rows together are those of ``queryset``.

    The rows come a batch of keys after another, each batch in the queryset's order.
    Only a restriction that every row must meet (no ``OR``, no ``NOT`` above it) is
    split, and only without a slice: the first rows of each batch are not the first rows
    of all. Anything else is ``queryset`` itself, its key sets sent whole.
    """
    lookups = [] if queryset.query.is_sliced else list(_required(queryset.query.where))
    largest = max(lookups, key=lambda lookup: len(lookup.rhs), default=None)
    if largest is None or len(largest.rhs) <= MYSQL_KEYS_PER_QUERY:
        yield queryset
        return
    for keys in largest.rhs.batches(MYSQL_KEYS_PER_QUERY):
        batch = queryset.all()
        batch.query.where = _replaced(queryset.query.where, largest, KeysIn(largest.lhs, keys))
        yield batch


def _required(node: WhereNode) -> Iterator[KeysIn]:
    """The :class:`KeysIn` conditions that every row of a ``WHERE`` must meet."""
    if node.negated or (node.connector != AND and len(node.children) > 1):
        return
    for child in node.children:
        if isinstance(child, KeysIn):
            yield child
        elif isinstance(child, WhereNode):
            yield from _required(child)


def _replaced(node: WhereNode, old: KeysIn, new: KeysIn) -> WhereNode:
    """A copy of the tree under ``node`` with condition ``old`` replaced by ``new``."""
    children = [
        _replaced(child, old, new) if isinstance(child, WhereNode) else child
        for child in node.children
    ]
    return WhereNode([new if c is old else c for c in children], node.connector, node.negated)


#: The foreign keys of some tables, with what recreates them.
_POSTGRES_FOREIGN_KEYS = """
    SELECT c.conrelid::regclass::text, c.conname, pg_catalog.pg_get_constraintdef(c.oid)
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid = ANY(%s::regclass[])
    ORDER BY c.oid
"""


#: A foreign key of PostgreSQL: its table, its name and its definition.
ForeignKeyConstraint = tuple[str, str, str]


@contextmanager
def foreign_keys_checked_at_end(
    connection: BaseDatabaseWrapper,
    tables: list[str],
    dropped: Sequence[ForeignKeyConstraint] = (),
) -> Iterator[None]:
    """Load ``tables`` with their foreign keys checked once, at the end, in the transaction.

    PostgreSQL checks a deferred foreign key row by row when the transaction commits;
    for a million rows that takes longer than loading them. Here the foreign keys are
    dropped and created again once the rows are in, so that PostgreSQL checks each with
    one join, as ``pg_restore`` does. A row that breaks one fails the ``ADD CONSTRAINT``
    with an ``IntegrityError``, and the transaction takes the drop back. Other databases
    have their checks turned off and run :meth:`check_constraints` themselves.
    ``dropped``: foreign keys :func:`drop_foreign_keys` dropped earlier, made again too.
    """
    if connection.vendor != "postgresql" or not tables:
        with connection.constraint_checks_disabled():
            yield
        return
    foreign_keys = [*dropped, *drop_foreign_keys(connection, tables)]
    yield
    with connection.cursor() as cursor:
        for table, name, definition in foreign_keys:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )


def drop_foreign_keys(
    connection: BaseDatabaseWrapper, tables: list[str]
) -> list[ForeignKeyConstraint]:
    """Drop the foreign keys of PostgreSQL ``tables``; return them, to make them again."""
    with connection.cursor() as cursor:
        cursor.execute(_POSTGRES_FOREIGN_KEYS, [[connection.ops.quote_name(t) for t in tables]])
        foreign_keys = cursor.fetchall()
        for table, name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    return foreign_keys


def stream_mysql(queryset: QuerySet, columns: Sequence[str], chunk_size: int) -> Iterator[Any]:
    """The rows of ``queryset`` from MySQL as tuples of ``columns``, a chunk at a time.

    Everything is read on the alias's own connection, so in the export's snapshot
    (:mod:`.snapshot`): MySQL cannot share a snapshot with a second connection. Django's
    MySQL cursors hold a whole result in memory, so each query is kept to ``chunk_size``
    rows, read as it arrives (see :func:`_unbuffered`):

    - unsliced, and ordered by nothing or by the primary key, not reversed, and not
      restricted by a :class:`KeysIn`: in key order, each chunk starting after the last
      key read (a range scan of the key's index), until one comes back empty;
    - otherwise (restricted by keys, a sample, another order): first the primary keys,
      in the queryset's order (or key order), held in memory (one key per row); then
      the rows by key, a chunk at a time, put in that order. A restriction by keys
      finds its rows through the foreign key's index once, where each chunk of a range
      scan would find and sort them all again.
    """
    pk = queryset.model._meta.pk
    query = queryset.query
    index = list(columns).index(pk.attname)
    ordering = query.order_by or (queryset.model._meta.ordering if query.default_ordering else ())
    in_key_order = (
        not query.is_sliced
        and query.standard_ordering  # not reversed
        and not query.combinator
        and not query.extra_order_by
        and list(ordering) in ([], ["pk"], [pk.name], [pk.attname])
    )
    if in_key_order:
        queryset = queryset.order_by("pk")
    if in_key_order and not any(_required(query.where)):
        rows = queryset.values_list(*columns)
        chunk = rows[:chunk_size]
        while True:
            last = None
            for row in _unbuffered(chunk):
                last = row[index]
                yield row
            if last is None:
                return
            chunk = rows.filter(pk__gt=last)[:chunk_size]
    keys = [key for (key,) in _unbuffered(queryset.values_list("pk"), whole=True)]
    by_key = queryset.model._base_manager.using(queryset.db).values_list(*columns)
    for start in range(0, len(keys), chunk_size):
        chunk = keys[start : start + chunk_size]
        found: dict[Any, Any] = {}
        missing = chunk
        while missing:
            got = len(found)
            found.update((row[index], row) for row in _unbuffered(by_key.filter(pk__in=missing)))
            if len(found) == got:
                raise DevdataError(
                    f"{queryset.model._meta.label} row {missing[0]!r} in "
                    f"{describe(queryset.db)} did not come back by its key, though the same "
                    "snapshot listed it: a query through the raw driver connection cut the "
                    "result short, or the key field's from_db_value does not round-trip; "
                    "query through Django's connection.cursor() instead; the export stopped "
                    "part-way"
                )
            missing = [key for key in missing if key not in found]
        yield from (found[key] for key in chunk)


def _unbuffered(queryset: QuerySet, whole: bool = False) -> Iterator[Any]:
    """The rows of ``queryset`` through an unbuffered cursor on the alias's connection.

    The server sends rows while they are processed. A connection reading an unbuffered
    result can run no other query (anonymisers and natural keys query between rows), so
    before any other query on it the rest of the result is read into memory. A query
    that bypasses Django's cursors would cut the result short instead (PyMySQL drops the
    rest); :func:`stream_mysql` then goes on after the last key it got, or asks again
    for the keys that did not come back. Keys come back in an order that cannot be
    resumed, so with ``whole`` a result whose rows go through converters (a custom
    field's code may run such a query) is read to its end before the first is converted.
    """
    connection = connections[queryset.db]
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a condition that no row meets, such as pk__in=[]
        return
    connection.ensure_connection()
    held: list[Any] = []
    fields = [column for column, _, _ in compiler.select[: compiler.col_count]]
    size = None if whole and compiler.get_converters(fields) else GET_ITERATOR_CHUNK_SIZE

    def drain(execute: Callable[..., Any], *args: Any) -> Any:
        held.extend(cursor.fetchall())
        return execute(*args)

    def batches() -> Iterator[Any]:
        while rows := held.copy() or (cursor.fetchmany(size) if size else cursor.fetchall()):
            held.clear()
            yield rows

    with (
        closing(connection.connection.cursor(connection.Database.cursors.SSCursor)) as cursor,
        connection.execute_wrapper(drain),
    ):
        cursor.execute(sql, params)
        yield from compiler.results_iter(results=batches(), tuple_expected=True)
