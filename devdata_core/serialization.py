"""The export format: JSON Lines in the shape of Django's serializers.

Each line is ``{"model": "app_label.modelname", "pk": ..., "fields": {...}}``, the
shape ``dumpdata`` writes, so a file also loads with ``loaddata``. Values keep their
full precision (datetimes their microseconds, decimals their digits). The importer
also reads the JSON arrays that django-devdata 1.x wrote.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from django.core.serializers import base
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.python import Deserializer as PythonDeserializer
from django.db import models
from django.db.models import Field, JSONField, Model
from django.utils.encoding import is_protected_type

from . import layout
from .errors import DataFileError

Row = dict[str, Any]


class ExportJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, but datetimes and times keep their microseconds."""

    def default(self, o: Any) -> Any:
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


_encoder = ExportJSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: An integer of 20 digits or more may not fit the 64 bits orjson reads exactly.
_LONG_NUMBER = re.compile(r"\d{20}")


def encode(row: Row) -> str:
    """One export line, newline included.

    orjson writes it, an order of magnitude faster than the standard library. What
    orjson cannot write as Python's ``json`` would (integers beyond 64 bits, which it
    refuses, and NaN or infinite floats, which it writes as ``null``) the standard
    library writes.
    """
    try:
        line = orjson.dumps(row, default=_encoder.default, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return _encoder.encode(row) + "\n"
    if b"null" in line and not all(_finite(value) for value in row["fields"].values()):
        return _encoder.encode(row) + "\n"
    return line.decode()


def _finite(value: Any) -> bool:
    return type(value) is not float or math.isfinite(value)


def decode(line: str, exact: bool = True) -> Any:
    """The value of one export line (orjson, or Python's ``json`` where it reads exactly).

    orjson reads an integer beyond 64 bits as a float. Only JSON and custom fields can
    hold one (Django's integer fields fit 64 bits), so only rows with such fields need
    ``exact`` decoding, which looks for long numbers first.
    """
    if exact and _LONG_NUMBER.search(line):
        return json.loads(line)
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        # NaN and Infinity, which Python's json writes and reads; it also says what is wrong.
        return json.loads(line)


def _holds_only_scalars(model: type[Model]) -> bool:
    """Whether every field of ``model`` is one of Django's own, other than JSON."""
    return all(
        type(f).__module__.startswith("django.db.models.fields") and not isinstance(f, JSONField)
        for f in model._meta.concrete_model._meta.local_concrete_fields
    )


#: Types written to JSON as they are.
_NATIVE = frozenset({int, float, bool, type(None)})
#: Django's fields of plain values, with their type, which JSON holds as it is. Exact
#: classes only: a subclass may convert its values its own way.
PLAIN_FIELDS: dict[type[Field], type] = {
    **dict.fromkeys(
        (
            models.AutoField,
            models.BigAutoField,
            models.SmallAutoField,
            models.IntegerField,
            models.BigIntegerField,
            models.SmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveBigIntegerField,
            models.PositiveSmallIntegerField,
        ),
        int,
    ),
    **dict.fromkeys(
        (models.CharField, models.TextField, models.SlugField, models.EmailField, models.URLField),
        str,
    ),
    models.BooleanField: bool,
    models.FloatField: float,
}
#: Types Django's serializers keep as they are, and how the export encoder writes them.
_PROTECTED = {
    datetime.datetime: datetime.datetime.isoformat,
    datetime.date: datetime.date.isoformat,
    datetime.time: datetime.time.isoformat,
    decimal.Decimal: str,
}


def stored_fields(model: type[Model]) -> list[Field]:
    """The columns of ``model``'s own table that devdata copies: all but generated ones."""
    return [f for f in model._meta.local_concrete_fields if not getattr(f, "generated", False)]


def exported_fields(model: type[Model]) -> list[Field]:
    """The fields an export row carries in ``fields``, as ``dumpdata`` writes them.

    The primary key goes in ``pk``; database-generated columns are left out, since
    the database computes them again.
    """
    return [
        f
        for f in model._meta.concrete_model._meta.local_fields
        if f.serialize and not getattr(f, "generated", False)
    ]


class NaturalKeys:
    """Natural keys of the rows of some models in one database, read once per model.

    ``columns``: per model, plain columns that hold keys of these models (a content
    type's id in an integer column), by attname, with the model whose keys they hold.
    """

    def __init__(
        self,
        database: str,
        models: Iterable[type[Model]],
        columns: Mapping[type[Model], Mapping[str, type[Model]]] | None = None,
    ) -> None:
        self.database = database
        self.models = set(models)
        self.columns = dict(columns or {})
        self._keys: dict[type[Model], dict[Any, list[Any]]] = {}
        self._pks: dict[type[Model], dict[tuple[Any, ...], Any]] = {}

    def __call__(self, model: type[Model], pk: Any) -> list[Any] | None:
        """The natural key of ``model``'s row ``pk``, as Django's serializers write it."""
        if model not in self._keys:
            # The rows a natural key may read (a permission's content type), named:
            # select_related() without fields is deprecated from Django 6.1.
            related = [f.name for f in model._meta.concrete_fields if f.is_relation and not f.null]
            rows = model._base_manager.using(self.database)
            if related:
                rows = rows.select_related(*related)
            self._keys[model] = {obj.pk: list(obj.natural_key()) for obj in rows}
        return None if pk is None else self._keys[model].get(pk)

    def key_of(self, model: type[Model], natural_key: Sequence[Any]) -> Any:
        """The primary key of ``model``'s row with ``natural_key``, or ``None`` if none has it."""
        if model not in self._pks:
            self(model, None)
            self._pks[model] = {tuple(key): pk for pk, key in self._keys[model].items()}
        return self._pks[model].get(tuple(natural_key))


Values = tuple[Any, ...]


class RowSerializer:
    """Turns rows of one model, fetched as tuples of column values, into export rows.

    The rows are those ``dumpdata`` writes for the same instances, but no instance is
    built unless a field needs one. Fields of plain values (numbers, text, booleans) are
    copied from the tuple as they are; values Django's serializers keep (dates,
    decimals) are written as the encoder would; only other values (UUIDs, JSON, binary,
    custom fields) go through ``Field.value_to_string`` on an instance made from the
    tuple. Foreign keys to the models of ``natural`` are written as natural keys, the
    way ``dumpdata --natural-foreign`` writes them.
    """

    def __init__(
        self,
        model: type[Model],
        columns: Sequence[str],
        database: str,
        natural: NaturalKeys | None = None,
    ) -> None:
        concrete = model._meta.concrete_model
        self.model = concrete
        self.columns = list(columns)
        self.database = database
        self.label = concrete._meta.label_lower
        self._built: tuple[Values | None, Model | None] = (None, None)
        pk = concrete._meta.pk
        self._pk_index = self.columns.index(pk.attname)
        self._pk = None if _plain(pk) else self._converter(pk)
        fields = exported_fields(concrete)
        self._names = [f.name for f in fields]
        self._pick = _picker([self.columns.index(f.attname) for f in fields])
        self._conversions = []
        #: Whether a foreign key is written as a natural key.
        self.natural_keys = False
        natural_columns = natural.columns.get(concrete, {}) if natural else {}
        for position, f in enumerate(fields):
            target = natural_columns.get(f.attname) or (
                f.related_model._meta.concrete_model if f.is_relation else None
            )
            if natural and target in natural.models:
                self._conversions.append((position, _natural_converter(target, natural)))
                self.natural_keys = True
            elif not _plain(f):
                self._conversions.append((position, self._converter(f)))

    def instance(self, values: Values) -> Model:
        """The model instance of a row, built once per row and only when asked for."""
        built_from, obj = self._built
        if built_from is not values or obj is None:
            obj = self.model.from_db(self.database, self.columns, values)
            self._built = (values, obj)
        return obj

    def _converter(self, field: Field) -> Callable[[Any, Values], Any]:
        plain_strings = type(field).value_to_string is Field.value_to_string
        value_to_string = field.value_to_string
        instance = self.instance

        def convert(value: Any, values: Values) -> Any:
            kind = type(value)
            if kind in _NATIVE or (kind is str and plain_strings):
                return value
            if kind in _PROTECTED:
                return _PROTECTED[kind](value)
            if is_protected_type(value):
                return value
            return value_to_string(instance(values))

        return convert

    def serialize(self, values: Values) -> Row:
        picked = self._pick(values)
        for position, convert in self._conversions:
            picked[position] = convert(picked[position], values)
        pk = values[self._pk_index]
        return {
            "model": self.label,
            "pk": pk if self._pk is None else self._pk(pk, values),
            "fields": dict(zip(self._names, picked, strict=True)),
        }


def _plain(field: Field) -> bool:
    """Whether ``field``'s values go to JSON as they are: numbers, text, booleans."""
    if type(field) in (models.ForeignKey, models.OneToOneField):
        field = field.target_field
    return type(field) in PLAIN_FIELDS


def _picker(indexes: list[int]) -> Callable[[Values], list[Any]]:
    """A function picking the values at ``indexes`` out of a row, into a new list."""
    if len(indexes) > 1:
        getter = operator.itemgetter(*indexes)
        return lambda values: list(getter(values))
    return lambda values: [values[i] for i in indexes]


def _natural_converter(target: type[Model], natural: NaturalKeys) -> Callable[[Any, Values], Any]:
    def convert(value: Any, values: Values) -> Any:
        return natural(target, value)

    return convert


def read_rows(
    path: Path, model: type[Model] | None = None, lines: range | None = None
) -> Iterator[tuple[int, Row]]:
    """``(line number, row)`` for every row of an export file, checking each row's shape.

    Given the ``model`` of the file, rows decode faster where its fields allow.
    ``lines``: only the rows on these lines (of a ``.jsonl`` file), the others not decoded.
    """
    if path.suffix == layout.LEGACY_DATA_SUFFIX:
        yield from _read_legacy(path)
        return
    exact = model is None or not _holds_only_scalars(model)
    try:
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if lines is not None and number not in lines:
                    if number >= lines.stop:
                        break
                    continue
                if not line.strip():
                    continue
                try:
                    row = decode(line, exact)
                except json.JSONDecodeError as exc:
                    raise DataFileError(
                        f"{path}:{number}: not valid JSON at column {exc.colno} ({exc.msg}); "
                        "the file is corrupt: "
                        "export it again"
                    ) from None
                except (ValueError, RecursionError) as exc:
                    raise DataFileError(
                        f"{path}:{number}: cannot read this JSON ({_unreadable(exc)}); the file "
                        "is corrupt: export it again"
                    ) from None
                yield number, _checked(row, path, number)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 text ({exc.reason}); export it again") from None


def _read_legacy(path: Path) -> Iterator[tuple[int, Row]]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise DataFileError(
            f"{path}: not valid JSON ({_unreadable(exc)}); export it again"
        ) from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(rows, list):
        raise DataFileError(
            f"{path}: expected a JSON array of objects (a django-devdata 1.x export)"
        )
    for number, row in enumerate(rows, start=1):
        yield number, _checked(row, path, number, unit="object")


def _unreadable(exc: ValueError | RecursionError) -> str:
    """Why Python's ``json`` cannot read a line: a value nested too deeply (it would
    overflow the stack), a number too long, or a syntax error."""
    if isinstance(exc, RecursionError):
        return "values nested too deeply"
    return str(exc).split(";")[0]


def _checked(row: Any, path: Path, number: int, unit: str = "line") -> Row:
    if not (
        isinstance(row, dict)
        and isinstance(row.get("model"), str)
        and "pk" in row
        and isinstance(row.get("fields"), dict)
    ):
        raise DataFileError(
            f'{path}:{number}: {unit} is not a {{"model", "pk", "fields"}} object; '
            "the file is corrupt: export it again"
        )
    return row


def deserialize(
    rows: Iterable[tuple[int, Row]], path: Path, database: str
) -> Iterator[base.DeserializedObject]:
    """Model instances for export rows, with errors naming the file and line.

    Each has an ``origin``, ``path:line``, for errors found later (a row the database
    refuses).
    """
    position = {"line": 0}

    def plain_rows() -> Iterator[Row]:
        for number, row in rows:
            position["line"] = number
            yield row

    try:
        for deserialized in PythonDeserializer(
            plain_rows(), using=database, ignorenonexistent=True, handle_forward_references=True
        ):
            deserialized.origin = f"{path}:{position['line']}"
            yield deserialized
    except base.DeserializationError as exc:
        raise DataFileError(f"{path}:{position['line']}: {exc}") from None


# Values in export rows -------------------------------------------------------------


def field_by_attname(model: type[Model], attname: str) -> Field:
    return next(f for f in model._meta.concrete_fields if f.attname == attname)


def field_name(model: type[Model], attname: str) -> str:
    """The name under which a field's value is serialised (``pk`` for the primary key)."""
    return "pk" if attname == model._meta.pk.attname else field_by_attname(model, attname).name


def as_exported(value: Any) -> Any:
    """A key as an export row holds it: numbers and strings as they are, others as text."""
    return value if isinstance(value, (int, str)) else str(value)


def serialised(row: Row, name: str) -> Any:
    """The value of field ``name`` (or ``pk``) in an export row."""
    return row["pk"] if name == "pk" else row["fields"].get(name)


def column_values(
    path: Path, model: type[Model], columns: Sequence[str]
) -> Iterator[tuple[int, Values]]:
    """``(line number, values of columns)`` for the rows of an export file."""
    fields = [(field_name(model, c), field_by_attname(model, c).to_python) for c in columns]
    for number, row in read_rows(path, model):
        yield number, tuple(convert(serialised(row, name)) for name, convert in fields)
