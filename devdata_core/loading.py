"""Loading export rows into a table without building model instances.

Each row's values are converted the way Django's deserializer and ``_insert`` would
convert them (``to_python``, then ``get_db_prep_save``), with shortcuts for values that
those leave as they are (an int in an integer field, a string in a text field). Rows go
in with ``COPY`` on PostgreSQL (psycopg2) and multi-row ``INSERT`` statements elsewhere,
a chunk at a time, so memory does not grow with the file.

The same conversion, with the column's limits checked too, runs over every row before
the import resets the database (:meth:`Columns.check`), so that a value the database
would refuse is found while the old database is still there.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import functools
import io
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DatabaseError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.fields import AutoFieldMixin

from .errors import DataFileError, DevdataError, shorten
from .keys import KeySet
from .serialization import PLAIN_FIELDS, Row, stored_fields

T = TypeVar("T")

#: Rows per ``COPY`` or ``INSERT`` statement (fewer where the database limits parameters).
BATCH_SIZE = 5000
#: Auto fields' values are checked by MySQL's backend (no zero), so only they change.
_AUTO = (models.AutoField, models.BigAutoField, models.SmallAutoField)

#: Fields whose value Django passes to the database unchanged when it already has the
#: field's Python type.
_UNCHANGED = {kind: python for kind, python in PLAIN_FIELDS.items() if kind not in _AUTO}
#: Fields whose exported strings PostgreSQL's ``COPY`` can read itself.
_PARSED_BY_POSTGRES = (models.DecimalField, models.DateField, models.TimeField, models.UUIDField)
#: Fields whose prepared values PostgreSQL's ``COPY`` reads as text (``str()``).
_COPYABLE = (
    *PLAIN_FIELDS,
    models.DecimalField,
    models.DateField,
    models.DateTimeField,
    models.TimeField,
    models.UUIDField,
    models.GenericIPAddressField,
)
#: What converting a value raises when the value does not fit its field.
_UNFIT = (ValidationError, TypeError, ValueError, ArithmeticError, RecursionError)


class _CopyNull:
    """NULL in ``COPY``'s CSV: written unquoted as ``\\N`` (the csv module leaves values
    that look numeric unquoted), so that it differs from a string ``"\\N"``."""

    def __float__(self) -> float:
        raise TypeError("NULL")

    def __str__(self) -> str:
        return "\\N"


_COPY_NULL = _CopyNull()


class UnmatchedNaturalKey(Exception):
    """A natural key (a content type, a permission) with no row in this database."""


class BadValue(Exception):
    """A value of an export row that its field cannot take, or its column cannot hold."""

    def __init__(self, field: Field, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem

    def located(self, path: Path, number: int, row: Row, consequence: str) -> DataFileError:
        """The error to show: where the value is, and what it leaves behind."""
        return DataFileError(
            f"{path}:{number}: {self.field.model._meta.label} pk {shorten(repr(row['pk']))}, "
            f"field {self.field.name!r}: {self.problem}; the export does not fit this schema "
            f"(export it again){consequence}"
        )


class Columns:
    """How the values of a model's export rows become the parameters of its columns.

    With ``check``, values are converted as for an ``INSERT`` and checked against what
    Django knows of their columns (see :func:`_limits`) instead; nothing asks the
    database, which may not exist yet (``get_db_prep_save`` may ask the server its
    version: MySQL's UUID columns do).
    """

    def __init__(
        self, model: type[Model], connection: BaseDatabaseWrapper, copy: bool, check: bool = False
    ) -> None:
        self.model = model
        self.connection = connection
        self.fields = stored_fields(model)
        pk = model._meta.pk
        self.pk_index = self.fields.index(pk)
        self._null = _COPY_NULL if copy else None
        self._columns = [
            ("pk" if f is pk else f.name, f.get_default, self._converter(f, copy, check))
            for f in self.fields
        ]

    def values(self, row: Row) -> list[Any]:
        """The column parameters of ``row``: a field it lacks gets its default.

        Raises :class:`BadValue` for a value its field cannot take.
        """
        fields = row["fields"]
        values = []
        try:
            for name, default, convert in self._columns:
                value = row["pk"] if name == "pk" else fields.get(name, _MISSING)
                if value is _MISSING:
                    value = default()
                values.append(convert(value))
        except _UNFIT as exc:
            # The field whose value failed is the one after those converted.
            raise BadValue(self.fields[len(values)], _problem(exc, value)) from None
        return values

    def _converter(self, field: Field, copy: bool, check: bool) -> Callable[[Any], Any]:
        connection = self.connection
        null = self._null
        prepare = field.get_db_prep_save
        if field.is_relation:
            target = field.target_field
            to_python = target.to_python if check else self._foreign_key(field, target.to_python)
        else:
            target, to_python = field, field.to_python
        unchanged, as_is = _unchanged(target, connection, copy)
        if check:
            natural = field.is_relation and self._natural_keys(field) is not None
            return _checker(field, target, to_python, unchanged, natural, connection)
        text = _copy_text(field) if copy else None
        if text is not None:

            def convert(value: Any) -> Any:
                return null if value is None else text(to_python(value))

            return convert

        def convert(value: Any) -> Any:
            if type(value) is unchanged and (as_is is None or as_is(value)):
                return value
            if value is not None:
                value = prepare(to_python(value), connection)
            return null if value is None else value

        return convert

    def _natural_keys(self, field: Field) -> Any:
        """The manager that finds rows of ``field``'s model by natural key, if it has one."""
        manager = field.related_model._default_manager.db_manager(self.connection.alias)
        return manager if hasattr(manager, "get_by_natural_key") else None

    def _foreign_key(self, field: Field, to_python: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``to_python`` of a foreign key's target, which also resolves natural keys."""
        manager = self._natural_keys(field)
        if manager is None:
            return to_python
        natural: dict[tuple[Any, ...], Any] = {}

        def resolve(value: Any) -> Any:
            if not isinstance(value, list):
                return to_python(value)
            key = tuple(value)
            if key not in natural:
                try:
                    obj = manager.get_by_natural_key(*key)
                except ObjectDoesNotExist:
                    natural[key] = _MISSING
                else:
                    target = getattr(obj, field.remote_field.field_name)
                    natural[key] = target.pk if isinstance(target, Model) else target
            if natural[key] is _MISSING:
                raise UnmatchedNaturalKey(key)
            return natural[key]

        return resolve


_MISSING = object()


def _checker(
    field: Field,
    target: Field,
    to_python: Callable[[Any], Any],
    unchanged: type | None,
    natural: bool,
    connection: BaseDatabaseWrapper,
) -> Callable[[Any], Any]:
    """A converter to the field's Python value that checks the column's limits too.

    ``natural``: the field may hold natural keys (lists), which only the load resolves.
    """
    limits = _limits(target, connection)
    nullable = field.null

    def convert(value: Any) -> Any:
        if type(value) is not unchanged:
            if value is None:
                if nullable:
                    return None
                raise ValueError("null, but the column is NOT NULL")
            if natural and type(value) is list:
                return value
            value = to_python(value)
        for fits in limits:
            fits(value)
        return value

    return _with_shortcut(target, unchanged, connection, convert)


def _with_shortcut(
    field: Field,
    unchanged: type | None,
    connection: BaseDatabaseWrapper,
    convert: Callable[[Any], Any],
) -> Callable[[Any], Any]:
    """``convert``, with a shortcut for the values of Django's common fields that it
    accepts (checking a million rows takes seconds, not tens of them); anything the
    shortcut does not accept goes through ``convert``, which accepts it or says why not."""
    kind = type(field)
    if unchanged is int and isinstance(field, models.IntegerField):
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        if low is None or high is None:
            return convert
        auto = isinstance(field, AutoFieldMixin)  # MySQL refuses 0: leave it to ``convert``.

        def integer(value: Any) -> Any:
            if type(value) is int and low <= value <= high and (value or not auto):
                return value
            return convert(value)

        return integer
    if unchanged is str:
        longest = field.max_length if isinstance(field, models.CharField) else None
        longest = sys.maxsize if longest is None else longest
        if connection.vendor == "postgresql":

            def text_without_nul(value: Any) -> Any:
                if type(value) is str and len(value) <= longest and "\x00" not in value:
                    return value
                return convert(value)

            return text_without_nul

        def text(value: Any) -> Any:
            if type(value) is str and len(value) <= longest:
                return value
            return convert(value)

        return text
    if unchanged is not None:

        def plain(value: Any) -> Any:
            return value if type(value) is unchanged else convert(value)

        return plain
    if kind is models.DecimalField and field.max_digits is not None:
        whole = field.max_digits - field.decimal_places
        # Values that round, half up, to fewer digits before the point than the column has.
        bound = decimal.Decimal(10) ** whole - decimal.Decimal(5).scaleb(-field.decimal_places - 1)

        def number(value: Any) -> Any:
            if type(value) is str:
                try:
                    parsed = decimal.Decimal(value)
                    if -bound < parsed < bound:
                        return parsed
                except ArithmeticError:
                    pass
            return convert(value)

        return number
    parse = {
        models.DateTimeField: datetime.datetime.fromisoformat,
        models.DateField: datetime.date.fromisoformat,
    }.get(kind)
    if parse is not None:
        # Django's parsers try ``fromisoformat`` first, and take what it takes.

        def moment(value: Any) -> Any:
            if type(value) is str:
                try:
                    return parse(value)
                except ValueError:
                    pass
            return convert(value)

        return moment
    return convert


def _limits(field: Field, connection: BaseDatabaseWrapper) -> list[Callable[[Any], None]]:
    """Checks of a Python value against what the column of ``field`` holds, each raising
    ``ValueError``: integer ranges of the column type on this database, ``max_length``,
    digits before a decimal's point, no NUL character in PostgreSQL's text and JSON, and
    whatever the backend refuses as an automatic key (MySQL: 0).

    Choices are not checked: the database does not know them.
    """
    limits: list[Callable[[Any], None]] = []
    if isinstance(field, models.IntegerField):
        kind = field.get_internal_type()
        try:
            low, high = connection.ops.integer_field_range(kind)
        except KeyError:
            pass
        else:
            limits.append(functools.partial(_in_range, low, high, kind))
    if isinstance(field, AutoFieldMixin):
        limits.append(connection.ops.validate_autopk_value)
    if isinstance(field, models.CharField) and field.max_length is not None:
        limits.append(functools.partial(_not_longer, field.max_length))
    if isinstance(field, models.DecimalField):
        limits.append(functools.partial(_decimal_fits, field.max_digits, field.decimal_places))
    if connection.vendor == "postgresql":
        if isinstance(field, models.JSONField):
            limits.append(functools.partial(_json_without_nul, field.encoder))
        elif field.empty_strings_allowed:  # Fields of text, not numbers or dates.
            limits.append(_text_without_nul)
    return limits


def _in_range(low: int | None, high: int | None, kind: str, value: Any) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{shorten(str(value))} is out of range for {kind} ({low} to {high})")


def _not_longer(max_length: int, value: Any) -> None:
    if isinstance(value, str) and len(value) > max_length:
        raise ValueError(f"{len(value):,} characters, more than max_length={max_length}")


def _decimal_fits(max_digits: int | None, decimal_places: int | None, value: Any) -> None:
    """Whether the column takes the decimal, rounded to its places as the database does."""
    if max_digits is None or decimal_places is None or not isinstance(value, decimal.Decimal):
        return
    whole = max_digits - decimal_places
    if value.is_finite() and value.adjusted() < whole:
        # Rounding may carry into one more digit before the point.
        places = decimal.Decimal(1).scaleb(-decimal_places)
        context = decimal.Context(prec=max_digits + 1, rounding=decimal.ROUND_HALF_UP)
        rounded = value.quantize(places, context=context)
        if not rounded or rounded.adjusted() < whole:
            return
    raise ValueError(
        f"{shorten(str(value))} does not fit the column's {max_digits} digits, {decimal_places} "
        f"after the point (numeric overflow)"
    )


def _text_without_nul(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(
            f"{shorten(repr(value))} holds a NUL character, which PostgreSQL does not store in text"
        )


def _json_without_nul(encoder: type[json.JSONEncoder] | None, value: Any) -> None:
    if "\\u0000" in json.dumps(value, cls=encoder):
        raise ValueError("a string in it holds a NUL character, which PostgreSQL's JSON refuses")


def _problem(exc: BaseException, value: Any) -> str:
    """What is wrong with ``value``, in one line that does not repeat a long value whole."""
    if isinstance(exc, ValidationError):
        shown = shorten(str(value))
        return " ".join(
            str(error.message % {**error.params, "value": shown} if error.params else error.message)
            for error in exc.error_list
        ).rstrip(".")
    if isinstance(exc, RecursionError):
        return "the value is nested too deeply"
    return shorten(_first_line(exc), 200)


def _copy_text(field: Field) -> Callable[[Any], str] | None:
    """How ``COPY`` gets a value that psycopg2 would adapt itself for an ``INSERT``."""
    kind = type(field)
    if kind is models.JSONField:
        return functools.partial(json.dumps, cls=field.encoder)
    if kind is models.BinaryField:
        return lambda value: "\\x" + bytes(value).hex()
    if kind is models.DurationField:
        return lambda value: f"{value.days} days {value.seconds} s {value.microseconds} us"
    return None


def _unchanged(
    field: Field, connection: BaseDatabaseWrapper, copy: bool
) -> tuple[type | None, Callable[[str], bool] | None]:
    """The type of exported value that goes to the database unchanged, and a check it
    must pass too (or ``None``)."""
    kind = type(field)
    if kind in _AUTO and connection.vendor != "mysql":
        return int, None
    if copy and kind in _PARSED_BY_POSTGRES:
        # PostgreSQL reads these strings as it reads the values Django would send.
        return str, None
    if copy and kind is models.DateTimeField:
        # Django would make a naive time aware in TIME_ZONE; PostgreSQL would use UTC.
        return str, (_has_offset if settings.USE_TZ else None)
    return _UNCHANGED.get(kind), None


def _has_offset(value: str) -> bool:
    return value.endswith("Z") or (len(value) > 6 and value[-6] in "+-")


def can_copy(model: type[Model], database: str) -> bool:
    """Whether rows of ``model`` can go in with ``COPY``: PostgreSQL through psycopg2
    (psycopg 3 uses ``INSERT``), and every column of a type ``COPY`` reads as text."""
    connection = connections[database]
    if connection.vendor != "postgresql" or connection.Database.__name__ != "psycopg2":
        return False
    return all(
        type(f.target_field if f.is_relation else f) in _COPYABLE or _copy_text(f)
        for f in stored_fields(model)
    )


def needs_instances(model: type[Model]) -> bool:
    """Whether a column's placeholder is not plain ``%s`` (e.g. a geometry's), so only
    Django's own insert knows how to write it."""
    return any(hasattr(f, "get_placeholder") for f in model._meta.local_concrete_fields)


class TableLoader:
    """Inserts export rows of one model, a batch at a time, converting them on the way.

    A value that does not convert, or a row the database refuses, is reported with the
    export file and line it came from; ``consequence`` says what the failure leaves.
    """

    def __init__(
        self, model: type[Model], database: str, path: Path, consequence: str = ""
    ) -> None:
        self.model = model
        self.database = database
        self.path = path
        self.consequence = consequence
        self.connection = connections[database]
        self.copy = can_copy(model, database)
        self.columns = Columns(model, self.connection, self.copy)
        quote = self.connection.ops.quote_name
        names = ", ".join(quote(f.column) for f in self.columns.fields)
        table = quote(model._meta.db_table)
        if self.copy:
            self.statement = f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
            self.batch_size = BATCH_SIZE
        else:
            self.statement = f"INSERT INTO {table} ({names}) VALUES "
            self.row_placeholder = "(" + ", ".join(["%s"] * len(self.columns.fields)) + ")"
            limit = self.connection.ops.bulk_batch_size(self.columns.fields, [None] * BATCH_SIZE)
            self.batch_size = max(1, min(BATCH_SIZE, limit or BATCH_SIZE))

    def convert(self, number: int, row: Row) -> list[Any]:
        """The column parameters of the row on line ``number``."""
        try:
            return self.columns.values(row)
        except BadValue as exc:
            raise exc.located(self.path, number, row, self.consequence) from None

    def insert(self, batch: list[tuple[int, list[Any]]]) -> None:
        """Insert ``(line number, values)`` rows, in one statement."""

        def refused(row: tuple[int, list[Any]], exc: DatabaseError) -> DataFileError:
            number, values = row
            return refused_row(
                f"{self.path}:{number}",
                self.model,
                values[self.columns.pk_index],
                exc,
                self.consequence,
            )

        insert_locating(self.database, batch, self._insert, refused)

    def _insert(self, batch: list[tuple[int, list[Any]]]) -> None:
        with self.connection.cursor() as cursor:
            if self.copy:
                # COPY goes through the driver's cursor: its errors become Django's here.
                with self.connection.wrap_database_errors:
                    self._copy(cursor, batch)
            else:
                sql = self.statement + ", ".join([self.row_placeholder] * len(batch))
                cursor.execute(sql, [value for _, values in batch for value in values])

    def _copy(self, cursor: Any, batch: list[tuple[int, list[Any]]]) -> None:
        buffer = io.StringIO()
        # Strings quoted, so that only the unquoted \N is NULL.
        writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerows(values for _, values in batch)
        buffer.seek(0)
        cursor.cursor.copy_expert(self.statement, buffer)

    def load(
        self, rows: Iterable[tuple[int, Row]], loaded: KeySet, advance: Callable[[int], Any]
    ) -> tuple[int, int]:
        """Insert the rows whose key is not in ``loaded`` yet, adding their keys to it.

        Returns how many rows went in, and how many were left out for a natural key
        that has no row here.
        """
        to_python = self.model._meta.pk.to_python
        count = unmatched = 0
        batch: list[tuple[int, list[Any]]] = []
        for number, row in rows:
            pk = row["pk"]
            if type(pk) is not int:
                pk = to_python(pk)
            if pk in loaded:
                continue
            try:
                batch.append((number, self.convert(number, row)))
            except UnmatchedNaturalKey:
                unmatched += 1
                continue
            loaded.add(pk)
            if len(batch) >= self.batch_size:
                self.insert(batch)
                count += len(batch)
                advance(len(batch))
                batch = []
        if batch:
            self.insert(batch)
            count += len(batch)
            advance(len(batch))
        return count, unmatched


def value_checker(model: type[Model], database: str, path: Path) -> Callable[[int, Row], None]:
    """A check of each row of ``path`` as :class:`TableLoader` will convert it, with the
    limits of ``model``'s columns in ``database``; it does not connect to the database."""
    columns = Columns(model, connections[database], copy=False, check=True)

    def check(number: int, row: Row) -> None:
        try:
            columns.values(row)
        except BadValue as exc:
            raise exc.located(path, number, row, "; nothing was changed") from None

    return check


def insert_locating(
    database: str,
    rows: Sequence[T],
    insert: Callable[[Sequence[T]], Any],
    refused: Callable[[T, DatabaseError], DevdataError],
) -> None:
    """``insert(rows)`` in a savepoint; if the database refuses, the rows again one at a
    time, each in a savepoint, to raise ``refused(row, error)`` for the first it refuses.

    So that a row the database refuses for a reason Django does not know (a CHECK
    constraint, a trigger) is located in the export.
    """
    try:
        with transaction.atomic(using=database):
            insert(rows)
        return
    except DatabaseError as exc:
        if len(rows) == 1:
            raise refused(rows[0], exc) from None
    for row in rows:
        try:
            with transaction.atomic(using=database):
                insert([row])
        except DatabaseError as exc:
            raise refused(row, exc) from None


def refused_row(
    where: str | None, model: type[Model], pk: Any, exc: DatabaseError, consequence: str
) -> DataFileError:
    """The error for a row the database refused: where it is (``path:line``, if known),
    and the database's reason."""
    return DataFileError(
        f"{where + ': ' if where else ''}{model._meta.label} pk {shorten(repr(pk))}: "
        "the database refused the row: "
        f"{shorten(_first_line(exc), 300)}{consequence}"
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
