"""Loading export rows into a table without building model instances.

Each row's values are converted the way Django's deserializer and ``_insert`` would
convert them (``to_python``, then ``get_db_prep_save``), with shortcuts for values that
those leave as they are (an int in an integer field, a string in a text field). Rows go
in with ``COPY`` on PostgreSQL (psycopg2 or psycopg 3), one statement a file fed a chunk
at a time, and multi-row ``INSERT`` statements elsewhere, so memory does not grow with
the file.

The same conversion, with the columns' limits checked too, runs over every row before
the import resets the database (:class:`ValueChecker`), so that a value the database
would refuse is found while the old database is still there.
"""

from __future__ import annotations

import csv
import functools
import gc
import io
import json
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    InternalError,
    connections,
    models,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from .errors import DataFileError, DevdataError, describe, shorten
from .keys import KeySet
from .serialization import PLAIN_FIELDS, NaturalKeys, Row, read_rows, stored_fields
from .settings import NATURAL_KEY_MODELS
from .validation import UNFIT, BadValue, checker, column_acceptor, problem

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


class _CopyNull:
    """NULL in ``COPY``'s CSV: written unquoted as ``\\N`` (the csv module leaves values
    that look numeric unquoted), so that it differs from a string ``"\\N"``."""

    def __float__(self) -> float:
        raise TypeError("NULL")

    def __str__(self) -> str:
        return "\\N"


_COPY_NULL = _CopyNull()


class _CallsDefault(Exception):
    """A row lacks a field whose default is a function, not called during a ``COPY``."""


class UnmatchedNaturalKey(Exception):
    """A natural key (a content type, a permission) with no row in this database."""


class Columns:
    """How the values of a model's export rows become the parameters of its columns.

    With ``check``, values are converted to their fields' Python values and checked
    against their columns (see :mod:`.validation`) instead; nothing asks the database,
    which may not exist yet (``get_db_prep_save`` may ask the server its version:
    MySQL's UUID columns do).
    """

    def __init__(
        self,
        model: type[Model],
        connection: BaseDatabaseWrapper,
        copy: bool,
        check: bool = False,
        natural_columns: Collection[str] = (),
    ) -> None:
        self.model = model
        #: Plain columns that hold natural keys in the export (content type ids), which
        #: the load resolves before the rows get here.
        self.natural_columns = frozenset(natural_columns)
        self.connection = connection
        self.fields = stored_fields(model)
        pk = model._meta.pk
        self.pk_index = self.fields.index(pk)
        self._null = _COPY_NULL if copy else None
        #: Per field, the type of value it takes as it is; ``None`` if it converts them all.
        self._as_they_are: list[type | None] = []
        #: Whether a value may be a natural key, which converting looks up in the database.
        self.looks_up = False
        #: Whether the rows go to a ``COPY`` as they convert, when the connection can run
        #: no query: a field's default that is a function (which may query) is not called.
        self.streaming = False
        self.checking = check
        self._called_defaults = {
            f.name for f in self.fields if f.has_default() and callable(f.default)
        }
        self.converters = [self._converter(f, copy, check) for f in self.fields]
        self._columns = [
            ("pk" if f is pk else f.name, f.get_default, convert)
            for f, convert in zip(self.fields, self.converters, strict=True)
        ]
        others = [f.name for f in self.fields if f is not pk]
        self._types = tuple(self._as_they_are)
        #: The values of a row's fields other than the key, in order, as a tuple.
        self._pick = operator.itemgetter(*others) if len(others) > 1 else None
        self._same = None not in self._types and self._pick is not None

    def values(self, row: Row) -> list[Any]:
        """The column parameters of ``row``: a field it lacks gets its default.

        Raises :class:`BadValue` for a value its field cannot take.
        """
        if self._same:
            # Most rows hold every field, each of the type its column takes as it is (no
            # NULL, no natural key): checked for the whole row at once, in C.
            try:
                values = list(self._pick(row["fields"]))  # type: ignore[misc]
            except KeyError:
                pass
            else:
                values.insert(self.pk_index, row["pk"])
                if tuple(map(type, values)) == self._types:
                    return values
        fields = row["fields"]
        values = []
        try:
            for name, default, convert in self._columns:
                value = row["pk"] if name == "pk" else fields.get(name, _MISSING)
                if value is _MISSING and name in self._called_defaults:
                    if self.checking:
                        # Its value is the load's to make: the database is not there yet.
                        values.append(None)
                        continue
                    if self.streaming:
                        raise _CallsDefault(name)
                if value is _MISSING:
                    value = default()
                values.append(convert(value))
        except UNFIT as exc:
            # The field whose value failed is the one after those converted.
            raise BadValue(self.fields[len(values)], problem(exc, value)) from None
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
        stores_none = _stores_for_none(field, connection)
        taken_whole = not check and as_is is None and (not copy or not _copy_text(field))
        self._as_they_are.append(unchanged if taken_whole else None)
        if check:
            natural = field.attname in self.natural_columns or (
                field.is_relation and self._natural_keys(field) is not None
            )
            return checker(field, target, to_python, unchanged, natural, stores_none, connection)
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
            elif stores_none:
                # None goes through the field's conversion too, as Django's insert sends it.
                value = prepare(None, connection)
            return null if value is None else value

        return convert

    def _natural_keys(self, field: Field) -> Any:
        """The manager that finds rows of ``field``'s model by natural key, if it has one."""
        manager = field.related_model._default_manager.db_manager(self.connection.alias)
        return manager if hasattr(manager, "get_by_natural_key") else None

    def _foreign_key(self, field: Field, to_python: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``to_python`` of a foreign key's target, which also resolves natural keys.

        Keys of content types and permissions are read from the database's rows when the
        first is needed, never from the process-wide cache of content types, which an
        earlier database (or one since changed) may have filled.
        """
        manager = self._natural_keys(field)
        if manager is None:
            return to_python
        self.looks_up = True
        target_model = field.related_model._meta.concrete_model
        fresh = (
            target_model._meta.label in NATURAL_KEY_MODELS
            and field.target_field.primary_key
            and hasattr(target_model, "natural_key")
        )
        rows = NaturalKeys(self.connection.alias, [target_model])
        natural: dict[tuple[Any, ...], Any] = {}

        def resolve(value: Any) -> Any:
            if not isinstance(value, list):
                return to_python(value)
            key = tuple(value)
            if key not in natural:
                if fresh:
                    found = rows.key_of(target_model, key)
                    natural[key] = _MISSING if found is None else found
                else:
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
_PK = operator.itemgetter("pk")
_FIELDS = operator.itemgetter("fields")


#: Methods by which a field converts its values for the database.
_PREPARING = ("get_prep_value", "get_db_prep_value", "get_db_prep_save")


def _stores_for_none(field: Field, connection: BaseDatabaseWrapper) -> bool:
    """Whether ``field`` stores something other than NULL for ``None`` (a custom field
    that stores ``''``, say). Django's own fields store NULL, so only a field whose
    conversion is overridden outside Django is asked, once."""
    if field.is_relation:
        return False
    for name in _PREPARING:
        owner = next(c for c in type(field).__mro__ if name in vars(c))
        if not owner.__module__.startswith("django."):
            break
    else:
        return False
    try:
        return field.get_db_prep_save(None, connection) is not None
    except (*UNFIT, DatabaseError):  # The check before the reset may have no database.
        return False


def _copy_text(field: Field) -> Callable[[Any], str] | None:
    """How ``COPY`` gets a value that the driver would adapt itself for an ``INSERT``."""
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
    """Whether rows of ``model`` can go in with ``COPY``: PostgreSQL (psycopg2 or
    psycopg 3), and every column of a type ``COPY`` reads as text."""
    if connections[database].vendor != "postgresql":
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
    """Inserts export rows of one model, converting them on the way.

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
                self._copy(cursor, batch)
            else:
                sql = self.statement + ", ".join([self.row_placeholder] * len(batch))
                cursor.execute(sql, [value for _, values in batch for value in values])

    def _copy(self, cursor: Any, batch: list[tuple[int, list[Any]]]) -> None:
        self._copy_chunks(cursor, [_csv(values for _, values in batch)])

    def _copy_chunks(self, cursor: Any, chunks: Iterable[str]) -> None:
        """One ``COPY`` of the CSV text in ``chunks``, sent as each comes."""
        # The driver's own COPY, outside Django's cursor: its errors become Django's here.
        with self.connection.wrap_database_errors:
            if self.connection.Database.__name__ == "psycopg2":
                cursor.cursor.copy_expert(self.statement, _ChunkReader(iter(chunks)))
            else:
                with cursor.cursor.copy(self.statement) as copy:
                    for chunk in chunks:
                        copy.write(chunk)

    def load(
        self,
        rows: Iterable[tuple[int, Row]],
        loaded: KeySet,
        advance: Callable[[int], Any],
        again: Callable[[], Iterable[tuple[int, Row]]] | None = None,
    ) -> tuple[int, int]:
        """Insert the rows whose key is not in ``loaded`` yet, adding their keys to it.

        Returns how many rows went in, and how many were left out for a natural key
        that has no row here. ``again`` reads the rows once more: with it, ``COPY``
        takes the whole file in one statement (see :meth:`_stream`), unless converting a
        row may query the database, which a connection in the middle of a ``COPY``
        cannot; so must reading ``rows``.
        """
        if self.copy and again is not None and not self.columns.looks_up:
            return self._stream(rows, loaded, advance, again)
        return self._batched(rows, loaded, advance)

    def _stream(
        self,
        rows: Iterable[tuple[int, Row]],
        loaded: KeySet,
        advance: Callable[[int], Any],
        again: Callable[[], Iterable[tuple[int, Row]]],
    ) -> tuple[int, int]:
        """:meth:`load` by one ``COPY`` fed as the rows convert.

        The server stores rows while Python converts the next ones, where a ``COPY`` per
        batch would leave each waiting for the other. If the database refuses a row, the
        statement is taken back and the rows are read ``again`` and loaded in batches,
        which names the row refused; so are rows one of which lacks a field whose default
        is a function (it may query the database).
        """
        fresh = KeySet(self.model._meta.pk)
        feed = _Feed(self, rows, loaded, fresh, advance)
        try:
            self.columns.streaming = True
            try:
                with transaction.atomic(using=self.database), self.connection.cursor() as cursor:
                    self._copy_chunks(cursor, feed.chunks())
            finally:
                self.columns.streaming = False
        except (DatabaseError, _CallsDefault) as exc:
            # psycopg2 reports what the rows raised as a cancelled COPY; psycopg 3 raises it.
            error = feed.error or exc
            if not isinstance(error, (_CallsDefault, *_REFUSALS)):
                raise error from None
            # A row to give a default by a function, or one the database refused.
            return self._batched(again(), loaded, lambda rows: None)
        loaded.update(fresh)
        return feed.count, feed.unmatched

    def _batched(
        self, rows: Iterable[tuple[int, Row]], loaded: KeySet, advance: Callable[[int], Any]
    ) -> tuple[int, int]:
        """:meth:`load` a statement per batch, each refusal located by :func:`insert_locating`."""
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


class _Feed:
    """The CSV text of a :class:`TableLoader`'s rows, a batch at a time, for one ``COPY``;
    keys new to ``loaded`` go to ``fresh``, counted as they are sent."""

    def __init__(
        self,
        loader: TableLoader,
        rows: Iterable[tuple[int, Row]],
        loaded: KeySet,
        fresh: KeySet,
        advance: Callable[[int], Any],
    ) -> None:
        self.loader = loader
        self.rows = iter(rows)
        self.loaded = loaded
        self.fresh = fresh
        self.advance = advance
        self.count = self.unmatched = 0
        #: What stopped the rows being read, raised again once the ``COPY`` is aborted.
        self.error: BaseException | None = None

    def chunks(self) -> Iterator[str]:
        try:
            while batch := self._batch():
                yield _csv(batch)
                self.count += len(batch)
                self.advance(len(batch))
        except BaseException as exc:
            self.error = exc
            raise

    def _batch(self) -> list[list[Any]]:
        to_python = self.loader.model._meta.pk.to_python
        loaded, fresh, convert = self.loaded, self.fresh, self.loader.convert
        batch: list[list[Any]] = []
        for number, row in self.rows:
            pk = row["pk"]
            if type(pk) is not int:
                pk = to_python(pk)
            if pk in loaded or pk in fresh:
                continue
            try:
                batch.append(convert(number, row))
            except UnmatchedNaturalKey:
                self.unmatched += 1
                continue
            fresh.add(pk)
            if len(batch) >= BATCH_SIZE:
                break
        return batch


class _ChunkReader:
    """A file whose ``read`` returns the next chunk, as psycopg2's ``copy_expert`` reads."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self.chunks = chunks

    def read(self, size: int = -1) -> str:
        return next(self.chunks, "")


def _csv(rows: Iterable[list[Any]]) -> str:
    """Rows as ``COPY``'s CSV: strings quoted, so that only the unquoted ``\\N`` is NULL."""
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


class ValueChecker:
    """Checks the rows of an export file as :class:`TableLoader` will convert them, with
    the limits of the model's columns in ``database``, without connecting to it.

    Rows are checked many at a time, a column at a time where the column's values are
    common ones (see :func:`~.validation.column_acceptor`); rows with a doubtful value
    are checked one by one, to name the first bad one.
    """

    def __init__(
        self, model: type[Model], database: str, path: Path, natural_columns: Collection[str] = ()
    ) -> None:
        connection = connections[database]
        self.path = path
        self.columns = Columns(
            model, connection, copy=False, check=True, natural_columns=natural_columns
        )
        pk = model._meta.pk
        # The primary key first, then the other fields in order, as ``_accepted`` reads them.
        fields = sorted(self.columns.fields, key=lambda f: f is not pk)
        converters = dict(zip(self.columns.fields, self.columns.converters, strict=True))
        self._columns = []
        for f in fields:
            target = f.target_field if f.is_relation else f
            self._columns.append((column_acceptor(f, target, connection), converters[f]))
        names = [f.name for f in fields if f is not pk]
        #: The values of a row's fields, in order, as a tuple.
        self._pick: Callable[[dict[str, Any]], tuple[Any, ...]]
        if len(names) > 1:
            self._pick = operator.itemgetter(*names)
        elif names:
            self._pick = lambda fields: (fields[names[0]],)
        else:
            self._pick = lambda fields: ()

    def check(self, rows: list[tuple[int, Row]]) -> None:
        """Check ``(line number, row)`` pairs, many at once."""
        if not self._accepted([row for _, row in rows]):
            for number, row in rows:
                try:
                    self.columns.values(row)
                except BadValue as exc:
                    raise exc.located(self.path, number, row, "; nothing was changed") from None

    def _accepted(self, rows: list[Row]) -> bool:
        """Whether every value of ``rows`` is fine; false if any is doubtful, or missing."""
        if not rows:
            return True
        try:
            columns = [
                list(map(_PK, rows)),
                *zip(*map(self._pick, map(_FIELDS, rows)), strict=True),
            ]
        except KeyError:
            return False  # A field to fill with its default: leave it to the rows' check.
        for values, (accept, convert) in zip(columns, self._columns, strict=True):
            if accept is None or not accept(values):
                try:
                    for value in values:
                        convert(value)
                except UNFIT:
                    return False
        return True


#: Rows whose values are checked together before the reset.
CHECK_BATCH_SIZE = 1000


def check_file(
    path: Path,
    model: type[Model],
    database: str,
    natural_columns: Collection[str] = (),
    lines: range | None = None,
) -> int:
    """Check every row of an export file of ``model`` (or those on ``lines``) as the load
    will convert it, with :class:`ValueChecker`; return how many rows it holds."""
    expected = model._meta.label_lower
    concrete = model._meta.concrete_model
    checker = ValueChecker(concrete, database, path, natural_columns)
    count = 0
    batch: list[tuple[int, Row]] = []
    with _cycle_collector_paused():
        for number, row in read_rows(path, concrete, lines):
            if row["model"].lower() != expected:
                checker.check(batch)  # Errors in the lines above come first.
                raise DataFileError(
                    f"{path}:{number}: row of {row['model']!r} in the file of {expected!r}; "
                    "export it again"
                )
            batch.append((number, row))
            if len(batch) == CHECK_BATCH_SIZE:
                checker.check(batch)
                count += len(batch)
                batch = []
        checker.check(batch)
    return count + len(batch)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Rows held in a batch make Python's cycle collector scan them again and again,
    which doubles the time of the check; rows hold no cycles, so it may rest meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


#: Errors by which a database refuses a row: a constraint (integrity), a value (data), or
#: a trigger that raises (PostgreSQL reports those as internal errors).
_REFUSALS = (IntegrityError, DataError, InternalError)


def insert_locating(
    database: str,
    rows: Sequence[T],
    insert: Callable[[Sequence[T]], Any],
    refused: Callable[[T, DatabaseError], DevdataError],
) -> None:
    """``insert(rows)`` in a savepoint; if the database refuses, the rows again one at a
    time, each in a savepoint, to raise ``refused(row, error)`` for the first it refuses.

    So that a row the database refuses for a reason Django does not know (a CHECK
    constraint, a trigger) is located in the export. Only refusals of a value or a row
    are located: a lost connection, a timeout or a full disk is no row's fault, and is
    raised as it is.
    """
    try:
        with transaction.atomic(using=database):
            insert(rows)
        return
    except _REFUSALS as exc:
        if len(rows) == 1:
            raise refused(rows[0], exc) from None
    for row in rows:
        try:
            with transaction.atomic(using=database):
                insert([row])
        except _REFUSALS as exc:
            raise refused(row, exc) from None


def refused_row(
    where: str | None, model: type[Model], pk: Any, exc: DatabaseError, consequence: str
) -> DataFileError:
    """The error for a row the database refused: where it is (``path:line``, if known),
    and the database's reason."""
    return DataFileError(
        f"{where + ': ' if where else ''}{model._meta.label} pk {shorten(repr(pk))}: "
        "the database refused the row: "
        f"{shorten(describe(exc).rstrip('.'), 300)}{consequence}"
    )
