"""PostgreSQL writes export lines itself, where no Python is needed for a row.

For a model whose every exported field has a type rendered here, the line
:func:`.serialization.encode` would write for a row is built by one SQL text expression,
and ``COPY (SELECT <line> FROM (<the queryset's query>) ...) TO STDOUT`` streams the lines
into the file: no line is built in Python. A field is rendered only over the column type
it was checked against (from the query's own description). Each row's keys, which later
models' restrictions need, come with its line from the same statement. The output is
byte for byte the Python path's:

- integers as ``int::text``; booleans ``true``/``false``; ``null`` for NULL;
- text through ``to_json(text)``, which escapes as orjson does (``\\"``, ``\\\\``, the
  short escapes ``\\b\\f\\n\\r\\t``, other control characters as ``\\u00xx``) and keeps
  non-ASCII characters as they are;
- decimals of at most 6 places as their text in quotes: a ``numeric(p, s)`` column prints
  exactly ``s`` places, which ``str(Decimal)`` keeps unless a value needs more than 6
  (``1E-7``);
- dates and UUIDs as ``isoformat()``/``str()`` write them;
- datetimes (with ``USE_TZ`` and the connection in UTC) as ``isoformat()`` does, the
  microseconds only when not zero, with ``+00:00``.

Every other field (floats, whose shortest text differs from Python's ``repr``; JSON;
binary; durations; times; subclasses and custom fields) leaves the model to Python.

COPY's CSV format, with a delimiter and quote character that JSON never holds raw (it
escapes every control character), writes each line as it is, unescaped.

With ``--jobs``, a queryset that reads a big table whole, as it is stored, is split by
ranges of heap blocks (TID range scans, PostgreSQL 14+) into parts that connections
sharing the snapshot copy at once (:func:`parts`). A TID range scan reads its blocks in
order, as a seq scan from the first block does (see :mod:`.snapshot`), so the parts one
after the other are the lines of one COPY of the whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import IO, Any, NamedTuple, TextIO

import orjson
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Field, Model, QuerySet
from django.db.models.expressions import RawSQL

from .serialization import PLAIN_FIELDS, exported_fields

_DATETIME = 'YYYY-MM-DD"T"HH24:MI:SS'
#: PostgreSQL's type OIDs of the columns rendered here: a field over a column of another
#: type (an unmanaged table's ``char(n)``, an unconstrained ``numeric``) goes to Python.
_INTEGER_TYPES = {20, 21, 23}  # bigint, smallint, integer
_TEXT_TYPES = {25, 1043}  # text, varchar (not char(n): its ::text drops the padding)
_BOOLEAN, _NUMERIC, _DATE, _TIMESTAMPTZ, _UUID = 16, 1700, 1082, 1184, 2950
#: Heap pages (8 kB each by default) from which a table read whole is split between
#: jobs: 16 MB, some 250,000 rows of a narrow table, half a second of COPY on one core,
#: where a worker's connection and its joining the snapshot take some milliseconds.
SPLIT_PAGES = 2048
#: Bytes of COPY's output split into lines and keys at a time.
_BLOCK = 1 << 16


class Lines(NamedTuple):
    """How PostgreSQL writes a model's export lines (see :func:`line_sql`)."""

    #: The SQL expression of a row's line.
    line: str
    #: The SQL expression of each field's value as the line holds it, by attname.
    values: dict[str, str]


def line_sql(queryset: QuerySet, model: type[Model], columns: Sequence[str]) -> Lines | None:
    """The SQL expressions of the export line of ``model``'s rows from ``queryset`` fetched
    as ``columns`` (named ``c0``, ``c1``... by :func:`copy_lines`); ``None`` if a field
    needs Python."""
    query = queryset.query
    if query.combinator or query.extra_tables:
        # A union may repeat a row, which the Python path writes once.
        return None
    connection = connections[queryset.db]
    try:
        rows, params, tables = _rows_sql(queryset, columns)
    except EmptyResultSet:
        # No SQL selects nothing (``pk__in=[]``): the Python path writes no row.
        return None
    if tables > 1:
        # A join (the filter's, or the ordering's, added as the query compiles) may repeat
        # a row, which the Python path writes once.
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {rows} LIMIT 0", params)
        # Columns Django adds after them (a distinct query's ordering) are left alone.
        described = {
            attname: (f"c{i}", column.type_code, column.scale)
            for i, (attname, column) in enumerate(
                zip(columns, cursor.description[: len(columns)], strict=True)
            )
        }
    concrete = model._meta.concrete_model
    values = {}
    for field in [concrete._meta.pk, *exported_fields(concrete)]:
        value = _value_sql(field, *described[field.attname], connection)
        if value is None:
            return None
        values[field.attname] = value
    parts = [
        _literal(f'{{"model":{_json(concrete._meta.label_lower)},"pk":'),
        values[concrete._meta.pk.attname],
        _literal(',"fields":{'),
    ]
    for position, field in enumerate(exported_fields(concrete)):
        parts += [
            _literal(("," if position else "") + f"{_json(field.name)}:"),
            values[field.attname],
        ]
    parts.append(_literal("}}"))
    return Lines(" || ".join(parts), values)


def copy_lines(
    queryset: QuerySet,
    columns: Sequence[str],
    lines: Lines,
    keys: Sequence[str],
    out: TextIO,
    on_keys: OnKeys,
    chunk: int,
) -> None:
    """Write the export line of every row of ``queryset`` (fetched as ``columns``) to ``out``,
    a text file in UTF-8, by one COPY on the queryset's connection, in its transaction.

    The values of the fields ``keys`` (attnames) of each row written come with its line,
    from the same statement, and go to ``on_keys`` ``chunk`` rows at a time, as the line
    holds them, a list of values per field: a second query could select other rows (a
    random sample, ``now()``).
    """
    connection = connections[queryset.db]
    rows, params, _ = _rows_sql(queryset, columns)
    key_values = " || ',' || ".join(lines.values[attname] for attname in keys) or "''"
    statement = (
        f"COPY (SELECT {key_values} || E'\\x03' || {lines.line} FROM {rows}) "
        "TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
    )
    if params:
        statement = connection.ops.compose_sql(statement, params)
    # The connection's encoding is UTF-8, the file's too: the bytes go to it as they are.
    out.flush()
    split = _KeyedLines(out.buffer, len(keys), on_keys, chunk)  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        if hasattr(cursor, "copy_expert"):
            cursor.copy_expert(statement, split)
        else:
            with cursor.copy(statement) as copy:
                for data in copy:
                    split.write(bytes(data))
    split.close()


def parts(queryset: QuerySet, columns: Sequence[str], jobs: int) -> list[QuerySet]:
    """``queryset`` as up to ``jobs`` querysets of consecutive ranges of heap blocks, whose
    rows one after the other are the queryset's; ``[queryset]`` unless it reads a table of
    at least :data:`SPLIT_PAGES` pages whole, as it is stored."""
    query = queryset.query
    if (
        jobs < 2
        or query.where
        or queryset.ordered
        or query.is_sliced
        or query.distinct
        or query.group_by
        or query.combinator
        or query.extra_tables
        or query.extra
        or _rows_sql(queryset, columns)[2] != 1
    ):
        return [queryset]
    connection = connections[queryset.db]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int",
            [connection.ops.quote_name(query.get_meta().db_table)],
        )
        pages = cursor.fetchone()[0]
    if pages < SPLIT_PAGES:
        return [queryset]
    # The first part starts at the first block, the last has no end: a table that grew
    # since it was measured is read whole all the same.
    bounds = [f"({pages * number // jobs},0)" for number in range(1, jobs)]
    ranges = [
        ("ctid < %s::tid", [bounds[0]]),
        *(("ctid >= %s::tid AND ctid < %s::tid", pair) for pair in pairwise(bounds)),
        ("ctid >= %s::tid", [bounds[-1]]),
    ]
    return [
        queryset.filter(RawSQL(condition, params, output_field=BooleanField()))
        for condition, params in ranges
    ]


#: Takes the number of rows written and the values of each of their keys, by key.
OnKeys = Callable[[int, list[list[Any]]], None]


class _KeyedLines:
    """Takes COPY's output, ``key,key...\x03line`` a row, and writes the lines to ``raw``
    while handing the keys on, decoded a chunk at a time: one flat JSON array per chunk,
    split by key with slices (no list a row).

    psycopg2 writes each row by a call of its own: rows are gathered into blocks of some
    :data:`_BLOCK` bytes, split and written together: one write to the file a block, not
    a row, and less of the GIL held per row, which the other jobs need.
    """

    def __init__(self, raw: IO[bytes], width: int, on_keys: OnKeys, chunk: int) -> None:
        self.raw = raw
        #: Keys a row.
        self.width = width
        self.on_keys = on_keys
        #: Rows whose keys are decoded together (one orjson call).
        self.chunk = chunk
        self._block: list[bytes] = []
        self._size = 0
        self._keys: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._block.append(data)
        self._size += len(data)
        if self._size >= _BLOCK:
            self._split()
        return len(data)

    def close(self) -> None:
        self._split()
        assert not self._block, "COPY's output ends with a newline"
        self._hand_on()
        self.raw.flush()

    def _split(self) -> None:
        data = b"".join(self._block)
        end = data.rfind(b"\n") + 1
        rows, rest = data[:end], data[end:]
        self._block, self._size = ([rest], len(rest)) if rest else ([], 0)
        written = []
        for row in rows.split(b"\n")[:-1]:
            keys, _, line = row.partition(b"\x03")
            self._keys.append(keys)
            written.append(line)
        if written:
            self.raw.write(b"\n".join(written) + b"\n")
        if len(self._keys) >= self.chunk:
            self._hand_on()

    def _hand_on(self) -> None:
        if not self._keys:
            return
        values = orjson.loads(b"[" + b",".join(self._keys) + b"]") if self.width else []
        by_key = [values[position :: self.width] for position in range(self.width)]
        self.on_keys(len(self._keys), by_key)
        self._keys = []


def _rows_sql(queryset: QuerySet, columns: Sequence[str]) -> tuple[str, tuple, int]:
    """The rows of ``queryset`` as a derived table of columns ``c0``, ``c1``..., its
    parameters, and how many tables the query reads (joins included), compiled for the
    queryset's own database."""
    query = queryset.values_list(*columns).query
    compiler = query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    compiled = compiler.query
    tables = sum(1 for alias in compiled.alias_map if compiled.alias_refcount[alias])
    return f"({sql}) AS devdata_rows ({_names(len(columns))})", tuple(params), tables


def _names(number: int) -> str:
    return ", ".join(f"c{i}" for i in range(number))


def _value_sql(
    field: Field, column: str, type_code: int, scale: int | None, connection: BaseDatabaseWrapper
) -> str | None:
    """The SQL expression of ``field``'s JSON value in ``column`` (of PostgreSQL type
    ``type_code``), or ``None``."""
    while type(field) in (models.ForeignKey, models.OneToOneField):
        field = field.target_field
    kind = type(field)
    plain = PLAIN_FIELDS.get(kind)
    if plain is int and type_code in _INTEGER_TYPES:
        value = f"{column}::text"
    elif plain is str and type_code in _TEXT_TYPES:
        value = f"to_json({column}::text)::text"
    elif plain is bool and type_code == _BOOLEAN:
        value = f"CASE {column} WHEN true THEN 'true' WHEN false THEN 'false' END"
    elif (kind is models.UUIDField and type_code == _UUID) or (
        # numeric(p, s) prints exactly s places, as str(Decimal) does up to 6.
        kind is models.DecimalField and type_code == _NUMERIC and scale is not None and scale <= 6
    ):
        value = _quoted(f"{column}::text")
    elif kind is models.DateField and type_code == _DATE:
        value = _quoted(f"to_char({column}, 'YYYY-MM-DD')")
    elif (
        kind is models.DateTimeField
        and type_code == _TIMESTAMPTZ
        and settings.USE_TZ
        and connection.timezone_name == "UTC"
    ):
        value = _quoted(
            f"to_char({column} AT TIME ZONE 'UTC', '{_DATETIME}') || "
            f"CASE WHEN to_char({column}, 'US') = '000000' THEN '' "
            f"ELSE to_char({column}, '.US') END || '+00:00'"
        )
    else:
        return None
    return f"COALESCE({value}, 'null')"


def _quoted(text: str) -> str:
    return f"'\"' || {text} || '\"'"


def _json(name: str) -> str:
    return orjson.dumps(name).decode()


def _literal(text: str) -> str:
    """A SQL string literal (``standard_conforming_strings``). Labels and field names are
    identifiers: no ``%`` for the parameter substitution to mistake."""
    return "'" + text.replace("'", "''") + "'"
