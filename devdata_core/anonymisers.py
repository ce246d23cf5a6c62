"""Ready-made anonymisers, and factories for them.

An anonymiser is called once per exported value, with keyword arguments only::

    def anonymise(*, obj: Model, field: str, pii_value: Any, fake: Faker, dest: Path) -> Any

and returns the value to export in place of ``pii_value`` (the field's serialised
value, e.g. an ISO string for a date). ``obj`` is the model instance being exported.

The anonymisers here also have a fast path, :meth:`Bindable.bind`: bound to its field
once per export, an anonymiser costs one call per value, and no model instance is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field, Model
from faker import Faker

from .anonymisation import generators
from .anonymisation.generators import Bound, Context
from .anonymisation.keyed import Keyed
from .errors import ConfigError

T = TypeVar("T")


class Anonymiser(Protocol):
    def __call__(
        self, *, obj: Model, field: str, pii_value: Any, fake: Faker, dest: Any
    ) -> Any: ...


class Bindable(Anonymiser, Protocol):
    """An anonymiser with a fast path: bound to its field once per export, it costs one
    call per value (see :mod:`devdata_core.anonymisation.generators`)."""

    def bind(self, field: Field, context: Context) -> Bound: ...


class _Faker:
    """The anonymiser :func:`faker_anonymise` makes."""

    #: The factory that makes it: the name the manifest records.
    made_by = "faker_anonymise"

    def __init__(
        self,
        generator: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        unique: bool,
        preserve_nulls: bool,
    ) -> None:
        self.generator, self.args, self.kwargs = generator, args, kwargs
        self.unique, self.preserve_nulls = unique, preserve_nulls
        self._bound: dict[tuple[Field | None, bytes, tuple[str, ...]], Bound] = {}

    def bind(self, field: Field | None, context: Context) -> Bound:
        return generators.bind(
            field,
            context,
            self.generator,
            self.args,
            self.kwargs,
            unique=self.unique,
            preserve_nulls=self.preserve_nulls,
        )

    def __call__(self, *, obj: Model, field: str, pii_value: Any, **_context: Any) -> Any:
        """The 1.x protocol, for anonymisers that wrap this one: bound once per field."""
        model_field, context = _model_field(obj, field), generators.current_context()
        key = (model_field, context.key, context.locales)
        bound = self._bound.get(key)
        if bound is None:
            bound = self._bound[key] = self.bind(model_field, context)
        return bound(pii_value, lambda: obj)

    def __repr__(self) -> str:
        return f"faker_anonymise({self.generator!r}, ...)"


def faker_anonymise(
    generator: str,
    *args: Any,
    preserve_nulls: bool = False,
    unique: bool = False,
    **kwargs: Any,
) -> Anonymiser:
    """Replace the value with a fake that looks like ``fake.<generator>(*args, **kwargs)``.

    Deterministic: the same original value gets the same fake in every table, column
    and run anonymised with the same generator, arguments and key
    (``DEVDATA_ANONYMISATION_KEY``); another key gives other fakes. Fakes are drawn from a
    pool Faker fills once per run, fitted to the column (``max_length``, the field's
    type). ``unique=True`` (for fields under a unique constraint) adds a 64-bit keyed tag,
    so different originals get different fakes without remembering any (see
    :mod:`devdata_core.anonymisation.generators` for the guarantee).
    ``preserve_nulls=True`` keeps ``None`` and ``""`` as they are.
    """
    return _Faker(generator, args, kwargs, unique, preserve_nulls)


def _model_field(obj: Any, name: str) -> Field | None:
    """The field ``name`` of ``obj``'s model, or ``None`` for a value of no model."""
    meta = getattr(obj, "_meta", None)
    if meta is None:
        return None
    try:
        return meta.get_field(name)
    except FieldDoesNotExist:
        return None


class _Const:
    """The anonymiser :func:`const` makes."""

    #: The factory that makes it: the name the manifest records.
    made_by = "const"

    def __init__(self, value: Any, preserve_nulls: bool) -> None:
        self.value, self.preserve_nulls = value, preserve_nulls

    def bind(self, field: Field, context: Context) -> Bound:
        value = self.value
        if self.preserve_nulls:
            return lambda original, instance: (
                original if original is None or original == "" else value
            )
        return lambda original, instance: value

    def __call__(self, *, pii_value: Any, **_context: Any) -> Any:
        if self.preserve_nulls and (pii_value is None or pii_value == ""):
            return pii_value
        return self.value


def const(value: T, preserve_nulls: bool = False) -> Anonymiser:
    """Replace the value with ``value``; ``preserve_nulls=True`` keeps ``None`` and ``""``."""
    return _Const(value, preserve_nulls)


class _Keep:
    """The anonymiser of a field exported as it is, on purpose (see :func:`keep`)."""

    #: The factory that makes it: the name the manifest records.
    made_by = "keep"

    def __call__(self, *, pii_value: Any, **_context: Any) -> Any:
        return pii_value

    def __repr__(self) -> str:
        return "keep()"


def keep() -> Anonymiser:
    """Export the field as it is, deliberately.

    The personal-data check and the leak audit stay quiet about a kept field, and the
    export spends no time on it.
    """
    return _Keep()


def is_kept(anonymiser: Anonymiser) -> bool:
    """Whether ``anonymiser`` is :func:`keep`: the value leaves as it is, by choice."""
    return isinstance(anonymiser, _Keep)


class _PreserveInternal:
    """The anonymiser :func:`preserve_internal` makes."""

    #: The factory that makes it: the name the manifest records.
    made_by = "preserve_internal"

    def __init__(self, alternative: Anonymiser) -> None:
        self.alternative = alternative

    def bind(self, field: Field, context: Context) -> Bound:
        assert context.bind is not None, "bound only by an export's Anonymisation"
        alternative = context.bind(self.alternative, field)

        def anonymise(original: Any, instance: Callable[[], Model]) -> Any:
            if _internal(instance()):
                return original
            return alternative(original, instance)

        return anonymise

    def __call__(self, *, obj: Model, pii_value: Any, **context: Any) -> Any:
        if _internal(obj):
            return pii_value
        return self.alternative(obj=obj, pii_value=pii_value, **context)


def _internal(obj: Model) -> bool:
    return getattr(obj, "is_superuser", False) or getattr(obj, "is_staff", False)


def preserve_internal(alternative: Anonymiser) -> Anonymiser:
    """Keep the value for staff and superusers; anonymise everyone else's with ``alternative``."""
    return _PreserveInternal(alternative)


class _RandomForeignKey:
    """Point a foreign key at a row of the related model that this export holds, chosen
    by the keyed hash of the original value: the same original, the same row, every run."""

    #: The factory that makes it: the name the manifest records.
    made_by = "random_foreign_key"

    def bind(self, field: Field, context: Context) -> Bound:
        if context.keys is None:
            raise ConfigError(
                f"random_foreign_key anonymises {field.model._meta.label}.{field.name} "
                "only within devdata_export, which knows the keys exported"
            )
        keys, related = context.keys, field.related_model
        # The referenced field's value: the primary key, or the foreign key's to_field.
        attname = field.target_field.attname
        keyed = Keyed(context.key, "random_foreign_key")
        return lambda original, instance: keys(related, attname).pick(keyed.number(original))

    def __call__(self, *, obj: Model, field: str, pii_value: Any, **_context: Any) -> Any:
        bound = self.bind(obj._meta.get_field(field), generators.current_context())
        return bound(pii_value, lambda: obj)

    def __repr__(self) -> str:
        return "random_foreign_key"


random_foreign_key: Anonymiser = _RandomForeignKey()


#: The anonymisers the core registers by name, usable in settings as ``("name", {kwargs})``.
BUILTIN_FACTORIES: dict[str, Callable[..., Anonymiser]] = {
    "faker": faker_anonymise,
    "const": const,
    "random_foreign_key": lambda: random_foreign_key,
    "keep": keep,
}
