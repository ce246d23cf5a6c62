"""Ready-made anonymisers, and factories for them.

An anonymiser is called once per exported value, with keyword arguments only::

    def anonymise(*, obj: Model, field: str, pii_value: Any, fake: Faker, dest: Path) -> Any

and returns the value to export in place of ``pii_value`` (the field's serialised
value, e.g. an ISO string for a date). ``obj`` is the model instance being exported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from django.db.models import Model
from faker import Faker

T = TypeVar("T")


class Anonymiser(Protocol):
    def __call__(
        self, *, obj: Model, field: str, pii_value: Any, fake: Faker, dest: Any
    ) -> Any: ...


def faker_anonymise(
    generator: str,
    *args: Any,
    preserve_nulls: bool = False,
    unique: bool = False,
    **kwargs: Any,
) -> Anonymiser:
    """Replace the value with ``fake.<generator>(*args, **kwargs)``.

    ``unique=True`` draws from Faker's ``unique`` proxy, so no value repeats within
    one export (for fields under a unique constraint). ``preserve_nulls=True``
    keeps ``None`` as ``None``.
    """

    def anonymise(*, pii_value: Any, fake: Faker, **_context: Any) -> Any:
        if preserve_nulls and pii_value is None:
            return None
        source = fake.unique if unique else fake
        return getattr(source, generator)(*args, **kwargs)

    return anonymise


def const(value: T, preserve_nulls: bool = False) -> Anonymiser:
    """Replace the value with ``value``; ``preserve_nulls=True`` keeps ``None``."""

    def anonymise(*, pii_value: Any, **_context: Any) -> Any:
        if preserve_nulls and pii_value is None:
            return None
        return value

    return anonymise


class _Keep:
    """The anonymiser of a field exported as it is, on purpose (see :func:`keep`)."""

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


def preserve_internal(alternative: Anonymiser) -> Anonymiser:
    """Keep the value for staff and superusers; anonymise everyone else's with ``alternative``."""

    def anonymise(*, obj: Model, pii_value: Any, **context: Any) -> Any:
        if getattr(obj, "is_superuser", False) or getattr(obj, "is_staff", False):
            return pii_value
        return alternative(obj=obj, pii_value=pii_value, **context)

    return anonymise


def random_foreign_key(*, obj: Model, field: str, dest: Any, **_context: Any) -> Any:
    """Point a foreign key at a random row of the related model that this export holds."""
    from .exporting import exported_keys

    foreign_key = obj._meta.get_field(field)
    # The referenced field's value: the primary key, or the foreign key's to_field.
    return exported_keys(dest, foreign_key.related_model, foreign_key.target_field.attname).choice()


#: The anonymisers the core registers by name, usable in settings as ``("name", {kwargs})``.
BUILTIN_FACTORIES: dict[str, Callable[..., Anonymiser]] = {
    "faker": faker_anonymise,
    "const": const,
    "random_foreign_key": lambda: random_foreign_key,
    "keep": keep,
}
