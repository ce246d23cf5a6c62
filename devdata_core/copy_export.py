"""PostgreSQL writes export lines itself, where no Python is needed for a row.

For a model whose every exported field has a type rendered here, the line
:func:`.serialization.encode` would write for a row is built by one SQL text expression,
and ``COPY (SELECT <line> FROM (<the queryset's query>) ...) TO STDOUT`` streams the lines
into the file: no line is built in Python. The rows' keys, which later models'
restrictions need, are read by a second query of the same rows in the export's snapshot.
A field is rendered only over the column type it was checked against (from the query's
own description). The output is byte for byte the Python path's:

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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TextIO

import orjson
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet

from .serialization import PLAIN_FIELDS, exported_fields

_DATETIME = 'YYYY-MM-DD"T"HH24:MI:SS'
#: PostgreSQL's type OIDs of the columns rendered here: a field over a column of another
#: type (an unmanaged table's ``char(n)``, an unconstrained ``numeric``) goes to Python.
_INTEGER_TYPES = {20, 21, 23}  # bigint, smallint, integer
_TEXT_TYPES = {25, 1043}  # text, varchar (not char(n): its ::text drops the padding)
_BOOLEAN, _NUMERIC, _DATE, _TIMESTAMPTZ, _UUID = 16, 1700, 1082, 1184, 2950


def line_sql(queryset: QuerySet, model: type[Model], columns: Sequence[str]) -> str | None:
    """The SQL expression of the export line of ``model``'s rows from ``queryset`` fetched
    as ``columns`` (named ``c0``, ``c1``... by :func:`copy_lines`); ``None`` if a field
    needs Python."""
    query = queryset.query
    if (
        query.combinator
        or query.extra_tables
        or sum(1 for alias in query.alias_map if query.alias_refcount[alias]) > 1
    ):
        # A join or a union may repeat a row, which the Python path writes once.
        return None
    connection = connections[queryset.db]
    try:
        rows, params = _rows_sql(queryset, columns)
    except EmptyResultSet:
        # No SQL selects nothing (``pk__in=[]``): the Python path writes no row.
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
    pk = _value_sql(concrete._meta.pk, *described[concrete._meta.pk.attname], connection)
    if pk is None:
        return None
    parts = [
        _literal(f'{{"model":{_json(concrete._meta.label_lower)},"pk":'),
        pk,
        _literal(',"fields":{'),
    ]
    for position, field in enumerate(exported_fields(concrete)):
        value = _value_sql(field, *described[field.attname], connection)
        if value is None:
            return None
        parts += [_literal(("," if position else "") + f"{_json(field.name)}:"), value]
    parts.append(_literal("}}"))
    return " || ".join(parts)


def copy_lines(queryset: QuerySet, columns: Sequence[str], line: str, out: TextIO) -> None:
    """Write the export line of every row of ``queryset`` (fetched as ``columns``) to ``out``,
    a text file in UTF-8, by one COPY on the queryset's connection, in its transaction."""
    connection = connections[queryset.db]
    rows, params = _rows_sql(queryset, columns)
    statement = (
        f"COPY (SELECT {line} FROM {rows}) TO STDOUT "
        "WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
    )
    if params:
        statement = connection.ops.compose_sql(statement, params)
    # The connection's encoding is UTF-8, the file's too: the bytes go to it as they are.
    out.flush()
    raw = out.buffer  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        if hasattr(cursor, "copy_expert"):
            cursor.copy_expert(statement, raw)
        else:
            with cursor.copy(statement) as copy:
                for data in copy:
                    raw.write(data)
    raw.flush()


def key_chunks(queryset: QuerySet, columns: Sequence[str], size: int) -> Iterator[list[tuple]]:
    """The values of ``columns`` (keys :func:`line_sql` accepted, which Django reads as the
    driver returns them) in the rows of ``queryset``, ``size`` rows at a time, from a
    server-side cursor."""
    rows, params = _rows_sql(queryset, columns)
    with connections[queryset.db].chunked_cursor() as cursor:
        cursor.execute(f"SELECT {_names(len(columns))} FROM {rows}", params)
        while chunk := cursor.fetchmany(size):
            yield chunk


def _rows_sql(queryset: QuerySet, columns: Sequence[str]) -> tuple[str, tuple]:
    """The rows of ``queryset`` as a derived table of columns ``c0``, ``c1``..., and its
    parameters."""
    sql, params = queryset.values_list(*columns).query.sql_with_params()
    return f"({sql}) AS devdata_rows ({_names(len(columns))})", tuple(params)


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
