"""What a column accepts: export values checked against their columns before the import.

Django knows what each column holds (the integer range of its type on this database,
``max_length``, a decimal's digits) and a few things the database refuses (NUL
characters in PostgreSQL's text, 0 as a MySQL automatic key); values are converted with
their field's ``to_python``, as the load converts them, and checked against those, so
that a value the load would fail on is found before the reset. Choices are not checked:
the database does not know them.

The check of a million rows must not take much longer than reading them: whole columns
of common values are accepted at once (:func:`column_acceptor`), and only a batch with a
doubtful value is converted value by value, to name it.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.fields import AutoFieldMixin

from .errors import DataFileError, shorten
from .serialization import PLAIN_FIELDS

#: What converting a value raises when the value does not fit its field.
UNFIT = (ValidationError, TypeError, ValueError, ArithmeticError, RecursionError)


class BadValue(Exception):
    """A value of an export row that its field cannot take, or its column cannot hold."""

    def __init__(self, field: Field, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem

    def located(
        self, path: Path, number: int, row: dict[str, Any], consequence: str
    ) -> DataFileError:
        """The error to show: where the value is, and what it leaves behind."""
        return DataFileError(
            f"{path}:{number}: {self.field.model._meta.label} pk {shorten(repr(row['pk']))}, "
            f"field {self.field.name!r}: {self.problem}; the export does not fit this schema "
            f"(export it again){consequence}"
        )


def checker(
    field: Field,
    target: Field,
    to_python: Callable[[Any], Any],
    unchanged: type | None,
    natural: bool,
    stores_none: bool,
    connection: BaseDatabaseWrapper,
) -> Callable[[Any], Any]:
    """A converter to the field's Python value that checks the column's limits too.

    ``natural``: the field may hold natural keys (lists), which only the load resolves.
    ``stores_none``: the field's own conversion stores a value for ``None`` (not NULL).
    """
    limits = _limits(target, connection)
    nullable = field.null or stores_none

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
            low, high = integer_range(connection, kind)
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


#: A NUL character as JSON writes it: ``\u0000`` after an even number of backslashes
#: (an odd number would make it a backslash and the text ``u0000``).
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _json_without_nul(encoder: type[json.JSONEncoder] | None, value: Any) -> None:
    if _JSON_NUL.search(json.dumps(value, cls=encoder)):
        raise ValueError("a string in it holds a NUL character, which PostgreSQL's JSON refuses")


def problem(exc: BaseException, value: Any) -> str:
    """What is wrong with ``value``, in one line that does not repeat a long value whole."""
    if isinstance(exc, ValidationError):
        shown = shorten(str(value))
        return " ".join(
            str(error.message % {**error.params, "value": shown} if error.params else error.message)
            for error in exc.error_list
        ).rstrip(".")
    if isinstance(exc, RecursionError):
        return "the value is nested too deeply"
    return shorten(first_line(exc), 200)


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def integer_range(connection: BaseDatabaseWrapper, kind: str) -> tuple[int | None, int | None]:
    """The values a column of integer field type ``kind`` holds on ``connection``'s database.

    SQLite stores every integer in 64 bits; Django before 5.0 reports no range for it.
    """
    low, high = connection.ops.integer_field_range(kind)
    if connection.vendor == "sqlite" and low is None and high is None:
        return (0 if kind.startswith("Positive") else -(2**63)), 2**63 - 1
    return low, high


def column_acceptor(
    field: Field, target: Field, connection: BaseDatabaseWrapper
) -> Callable[[list[Any]], bool] | None:
    """A check of a whole column of raw export values, in a few passes at C speed: true
    only if :func:`checker` would take every value as it is (``None`` where the field
    is not one of Django's common ones). False says nothing: :func:`checker` decides.

    ``target`` is the field whose values ``field`` holds (a foreign key's target).
    """
    # Django's own fields of plain values take a value of their type as it is.
    unchanged = PLAIN_FIELDS.get(type(target))
    if unchanged is int:
        low, high = integer_range(connection, target.get_internal_type())
        if low is None or high is None:
            return None
        # MySQL refuses 0 as an automatic key: let :func:`checker` decide.
        auto = isinstance(target, AutoFieldMixin)

        def integers(values: list[Any]) -> bool:
            return (
                _all(int, values)
                and low <= min(values)
                and max(values) <= high
                and not (auto and 0 in values)
            )

        return _present(field, integers)
    if unchanged is str:
        longest = target.max_length if isinstance(target, models.CharField) else None
        longest = sys.maxsize if longest is None else longest
        nul = connection.vendor == "postgresql"

        def texts(values: list[Any]) -> bool:
            return (
                _all(str, values)
                and max(map(len, values)) <= longest
                and not (nul and "\x00" in "".join(values))
            )

        return _present(field, texts)
    if unchanged is not None:
        return _present(field, functools.partial(_all, unchanged))
    kind = type(target)
    if kind is models.DecimalField and target.max_digits is not None:
        # Plain decimals with no more digits than the column has, one per line: what
        # ``to_python`` takes as they are, and the column holds without rounding.
        whole = target.max_digits - target.decimal_places
        before = rf"[0-9]{{1,{whole}}}" if whole else "0"
        plain = re.compile(rf"(?:-?{before}(?:\.[0-9]{{0,{target.decimal_places}}})?\n)*")

        def numbers(values: list[Any]) -> bool:
            if not _all(str, values):
                return False
            lines = "\n".join(values) + "\n"
            # As many lines as values: none holds a line break of its own.
            return lines.count("\n") == len(values) and plain.fullmatch(lines) is not None

        return _present(field, numbers)
    parse = {
        models.DateTimeField: datetime.datetime.fromisoformat,
        models.DateField: datetime.date.fromisoformat,
    }.get(kind)
    if parse is not None:
        # Django's parsers try ``fromisoformat`` first, and take what it takes.

        def moments(values: list[Any]) -> bool:
            if not _all(str, values):
                return False
            try:
                list(map(parse, values))
            except ValueError:
                return False
            return True

        return _present(field, moments)
    return None


def _all(kind: type, values: list[Any]) -> bool:
    """Whether every value is exactly of type ``kind`` (there is at least one)."""
    return set(map(type, values)) == {kind}


def _present(field: Field, accept: Callable[[list[Any]], bool]) -> Callable[[list[Any]], bool]:
    """``accept`` applied to the values that are not null, where the field may be null."""
    if not field.null:
        return accept

    def present(values: list[Any]) -> bool:
        if None in values:
            values = [value for value in values if value is not None]
            return not values or accept(values)
        return accept(values)

    return present
