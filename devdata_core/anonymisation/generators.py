"""Deterministic fakes: values drawn from pools Faker fills once, indexed by a keyed hash.

Calling Faker for every value costs tens of microseconds and gives another fake on every
run. Here Faker fills a *pool* once per process for each generator, its arguments and
the locales (:data:`POOL_SIZE` draws, seeded from the key and those, so the pool is the
same on every run with the same key, Faker version and locales), and an original
value's fake is ``pool[keyed_hash(original) % len(pool)]``: one keyed hash and an index
per value, and the same original gets the same fake in every table and on every run.

``unique=True`` adds a *tag* to the pool value: :data:`TAG_CHARS` base32 characters
(digits and lowercase letters) of the keyed hash (64 bits), at a fixed place (the end of
an email's local part, the end of any other text) so that two fakes are equal only if
their tags are. Different originals get different fakes unless their 64-bit tags
collide: for ``n`` distinct originals the probability of any collision is about
``n² / 2**65`` (3e-8 for a million rows, 3e-6 for ten million). Nothing is remembered
and nothing retried. A column too short for a full tag gets a narrower one, down to
:data:`MIN_TAG_CHARS` (50 bits: ``n² / 2**51``, 4e-4 for a million rows); narrower than
that is a :class:`~devdata_core.errors.ConfigError`.

Generators whose values are relative to the day of the run (``date_of_birth``,
``date_time``, ``past_date``...) shift with it; give them fixed bounds
(``date_between(start_date=date(1950, 1, 1), end_date=date(2005, 12, 31))``) for fakes
that never change.

A fake is *fitted* to its column (:func:`bind`): never longer than ``max_length``
(trimmed, emails kept valid), within a decimal's digits, of the field's type (integers,
ISO dates as the export writes them, an email for an ``EmailField``, an address of the
original's family for a ``GenericIPAddressField``).
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.db import models
from django.db.models import Field, Model
from faker import Faker

from ..errors import ConfigError
from .keyed import Keyed, anonymisation_key

#: Faker draws that fill one pool (split between the locales); duplicates are dropped.
POOL_SIZE = 4096
#: Base32 characters of a full unique tag: 13 of them carry the 64 bits of the hash.
TAG_CHARS = 13
#: The narrowest tag a short column may get (50 bits).
MIN_TAG_CHARS = 10
#: The domain of an email whose own domain does not fit its column.
SHORT_DOMAIN = "example.com"

#: The shortest email: one character, then ``@`` and :data:`SHORT_DOMAIN`.
_EMAIL_FIXED = 1 + 1 + len(SHORT_DOMAIN)

#: A bound anonymiser: the fake of an original value, given a function that returns the
#: row's model instance (built only when an anonymiser calls it: those here do not).
Bound = Callable[[Any, Callable[[], Model]], Any]


@dataclass(frozen=True)
class Context:
    """What binding an anonymiser to a field needs from the export that runs it."""

    key: bytes
    locales: tuple[str, ...] = ()
    #: The keys of a model that the export holds so far (by the field's attname); only
    #: within an export.
    keys: Callable[[type[Model], str], Any] | None = None
    #: Binds any anonymiser to a field, those of the 1.x protocol too (for anonymisers
    #: that wrap another); only within an export.
    bind: Callable[[Any, Field], Bound] | None = None

    @classmethod
    def from_settings(cls) -> Context:
        """The context outside an export (an anonymiser called directly): key and locales."""
        locales = getattr(django_settings, "DEVDATA_FAKER_LOCALES", None) or ()
        return cls(anonymisation_key(), (locales,) if isinstance(locales, str) else tuple(locales))


#: The context of the export whose anonymisers are running, for anonymisers called
#: through the 1.x keyword protocol (those without :meth:`bind`, and what they wrap).
running: ContextVar[Context | None] = ContextVar("devdata_anonymisation_context", default=None)


def current_context() -> Context:
    return running.get() or Context.from_settings()


_pools: dict[tuple[bytes, str], tuple[Any, ...]] = {}


def pool(
    context: Context,
    generator: str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    where: str = "faker_anonymise",
) -> Pool:
    """The pool of ``fake.<generator>(*args, **kwargs)`` under ``context``'s key and locales.

    Filled once per process and kept: the pools of a run take a few hundred kilobytes.
    """
    namespace = repr((generator, tuple(args), sorted(kwargs.items()), context.locales))
    cache_key = (context.key, namespace)
    if cache_key not in _pools:
        _pools[cache_key] = _fill(context, namespace, generator, args, kwargs, where)
    return Pool(_pools[cache_key], Keyed(context.key, namespace))


def _fill(
    context: Context,
    namespace: str,
    generator: str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    where: str,
) -> tuple[Any, ...]:
    locales = context.locales or (None,)
    seed = Keyed(context.key, namespace).number("pool")
    values: dict[Any, None] = {}
    for locale in locales:
        # One Faker per locale, each seeded: Faker's own choice between locales draws
        # from the global random generator, which no seed fixes.
        faker = Faker(locale, use_weighting=False)
        faker.seed_instance(seed)
        method = getattr(faker, generator, None)
        if not callable(method):
            raise ConfigError(
                f"{where}: Faker has no generator {generator!r} "
                f"(locales {', '.join(c or 'default' for c in locales)}); see Faker's providers"
            )
        for _ in range(POOL_SIZE // len(locales)):
            value = method(*args, **kwargs)
            try:
                values[value] = None
            except TypeError:  # unhashable (lists, dicts): kept as drawn
                values[_Unhashable(value)] = None
    return tuple(v.value if isinstance(v, _Unhashable) else v for v in values)


class _Unhashable:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Pool:
    """A pool of fakes and the keyed hash that picks from it."""

    __slots__ = ("keyed", "values")

    def __init__(self, values: tuple[Any, ...], keyed: Keyed) -> None:
        self.values = values
        self.keyed = keyed

    def picker(self, fit: Callable[[Any], Any] | None = None) -> Bound:
        """The fake of an original: its pool value (fitted by ``fit``, done once per pool
        value), the same under the same key, wherever it is."""
        values = self.values if fit is None else tuple(fit(v) for v in self.values)
        size, number = len(values), self.keyed.hasher(8)

        def fake(original: Any, instance: Any = None) -> Any:
            return values[number(original) % size]

        return fake

    def tagged(self, width: int, shape: Callable[[Any], tuple[str, str]]) -> Bound:
        """Unique fakes: ``head + tag + tail``, where ``shape`` gives a pool value's head
        and tail (done once per pool value) and the tag is ``width`` base32 characters of
        the keyed hash."""
        shaped = [shape(v) for v in self.values]
        heads, tails = tuple(h for h, _ in shaped), tuple(t for _, t in shaped)
        size, number, pairs, digits = len(shaped), self.keyed.hasher(16), _PAIRS, _DIGITS

        def fake(original: Any, instance: Any = None) -> str:
            hashed = number(original)
            # The high 64 bits pick the pool value, the low 64 bits are the tag.
            n = hashed & 0xFFFF_FFFF_FFFF_FFFF
            # The 64 bits in base32, ten bits at a time (base64's b32encode is Python).
            tag = (
                pairs[n & 1023]
                + pairs[n >> 10 & 1023]
                + pairs[n >> 20 & 1023]
                + pairs[n >> 30 & 1023]
                + pairs[n >> 40 & 1023]
                + pairs[n >> 50 & 1023]
                + digits[n >> 60]
            )
            index = (hashed >> 64) % size
            return heads[index] + tag[:width] + tails[index]

        return fake


#: The digits of a tag, lowercase so that case-insensitive collations keep tags apart.
_DIGITS = "0123456789abcdefghijklmnopqrstuv"
_PAIRS = tuple(_DIGITS[i >> 5] + _DIGITS[i & 31] for i in range(1024))


def bind(
    field: Field | None,
    context: Context,
    generator: str,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    unique: bool = False,
    preserve_nulls: bool = False,
) -> Bound:
    """The fake of an original value of ``field``: ``fake.<generator>(*args, **kwargs)``
    made deterministic, unique if asked, fitted to the field.

    Raises a :class:`ConfigError` when the field cannot hold such fakes.
    """
    kwargs = kwargs or {}
    where = _where(field)
    values = pool(context, generator, args, kwargs, where)
    fake: Bound
    if isinstance(field, models.GenericIPAddressField):
        fake = _ip(field, context, values, where, unique)
    elif isinstance(field, models.EmailField) or (
        (field is None or is_text(field)) and _all_emails(values.values[:10])
    ):
        fake = _email(field, values, where, unique)
    elif unique and not (field is None or is_text(field)):
        raise ConfigError(
            f"{where}: unique=True needs a text column to carry its tag, and this is a "
            f"{type(field).__name__}; drop unique=True, or anonymise another way"
        )
    elif unique:
        fake = _tagged_text(field, values, where)
    else:
        fake = values.picker(_fitter(field, where, values.values))
    if not preserve_nulls:
        return fake
    inner = fake

    def kept_empty(original: Any, instance: Any = None) -> Any:
        if original is None or original == "":
            return original
        return inner(original, instance)

    return kept_empty


def _where(field: Field | None) -> str:
    if field is None:
        return "faker_anonymise"
    model = field.model
    return f"anonymiser of {model._meta.app_label}.{model._meta.object_name}.{field.name}"


def is_text(field: Field | None) -> bool:
    """Whether ``field`` holds text (a ``CharField`` or ``TextField``, subclasses included)."""
    return isinstance(field, (models.CharField, models.TextField))


def can_tag(field: Field, email: bool) -> bool:
    """Whether ``field`` can hold unique fakes: text with room for a tag (and, for an
    ``email``, for the shortest address around it)."""
    if not is_text(field) or isinstance(field, models.GenericIPAddressField):
        return False
    if field.max_length is None:
        return True
    return field.max_length - (_EMAIL_FIXED + 1 if email else 0) >= MIN_TAG_CHARS


def _all_emails(values: Sequence[Any]) -> bool:
    return bool(values) and all(isinstance(v, str) and "@" in v for v in values)


def _tag_width(room: int, where: str, what: str) -> int:
    """The width of the tag a column with ``room`` characters left can carry."""
    width = min(TAG_CHARS, room)
    if width < MIN_TAG_CHARS:
        raise ConfigError(
            f"{where}: max_length is too short for unique fakes ({what} needs "
            f"{MIN_TAG_CHARS - width} more characters for its unique tag); widen the "
            "column or drop unique=True"
        )
    return width


def _tagged_text(field: Field | None, values: Pool, where: str) -> Bound:
    """Unique text: the pool value, trimmed, then ``-`` and the tag at the very end."""
    limit = getattr(field, "max_length", None)
    width = TAG_CHARS if limit is None else _tag_width(limit, where, "a value")
    room = None if limit is None else limit - width - 1

    def shape(value: Any) -> tuple[str, str]:
        text = _text(value)
        if room is not None:
            text = text[:room].rstrip() if room > 0 else ""
        return (f"{text}-" if text else "", "")

    return values.tagged(width, shape)


def _email(field: Field | None, values: Pool, where: str, unique: bool) -> Bound:
    """Emails, valid and within ``max_length``; unique ones tagged at the local part's end."""
    limit = getattr(field, "max_length", None)
    fixed = _EMAIL_FIXED
    width = 0
    if unique:
        width = TAG_CHARS if limit is None else _tag_width(limit - fixed - 1, where, "an email")
    elif limit is not None and limit < fixed:
        raise ConfigError(
            f"{where}: max_length {limit} is too short for an email ({fixed} at least); "
            "widen the column or use another anonymiser"
        )
    tagged = width + 1 if width else 0

    def shape(value: Any) -> tuple[str, str]:
        """``local`` (with the dot before the tag, if any) and ``@domain``, fitted."""
        text = _text(value)
        local, at, domain = text.rpartition("@")
        if not at:
            local, domain = _local_part(text), SHORT_DOMAIN
        if limit is not None and len(local) + tagged + 1 + len(domain) > limit:
            if limit - tagged - 1 - len(domain) < 1:
                domain = SHORT_DOMAIN
            local = local[: limit - tagged - 1 - len(domain)].rstrip("._-+")
        return (local or "x") + ("." if width else ""), f"@{domain}"

    if unique:
        return values.tagged(width, shape)
    return values.picker(lambda value: "".join(shape(value)))


def _local_part(text: str) -> str:
    """An email's local part made of a value that is not an email (a name, say)."""
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in text.lower()).split()
    return ".".join(words) or "x"


def _ip(
    field: models.GenericIPAddressField, context: Context, values: Pool, where: str, unique: bool
) -> Bound:
    """Addresses of the original's family (or the field's protocol)."""
    if unique:
        raise ConfigError(
            f"{where}: unique=True cannot tag an IP address; drop unique=True or anonymise "
            "another way"
        )
    by_family = {}
    for family, generator in ((4, "ipv4"), (6, "ipv6")):
        mine = [v for v in values.values if isinstance(v, str) and (":" in v) == (family == 6)]
        by_family[family] = (
            Pool(tuple(mine), values.keyed) if mine else pool(context, generator, (), {})
        )
    protocol = field.protocol.lower()
    four, six = by_family[4].picker(), by_family[6].picker()
    if protocol == "ipv4":
        return four
    if protocol == "ipv6":
        return six
    return lambda original, instance=None: six(original) if ":" in str(original) else four(original)


def _fitter(field: Field | None, where: str, sample: Sequence[Any]) -> Callable[[Any], Any] | None:
    """How a pool value becomes a value of ``field`` as the export writes it (``None``:
    as it is); applied once to each pool value, not to each row."""
    if field is None:
        return None
    if isinstance(field, (models.CharField, models.TextField)):
        limit = field.max_length
        if limit is None:
            return _text
        return lambda value: _text(value)[:limit].rstrip()
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, models.IntegerField) and not field.is_relation:
        if not all(isinstance(v, (int, decimal.Decimal, float)) for v in sample[:10]):
            raise ConfigError(
                f"{where}: the generator gives {type(sample[0]).__name__} values, not the "
                f"numbers this {type(field).__name__} holds; choose a numeric generator"
            )
        return int
    if isinstance(field, models.FloatField):
        return float
    if isinstance(field, models.DecimalField):
        return _decimal(field)
    if isinstance(field, models.DateTimeField):
        return _datetime
    if isinstance(field, models.DateField):
        return _date
    if isinstance(field, models.TimeField):
        return lambda value: value.isoformat() if isinstance(value, datetime.time) else value
    if isinstance(field, models.UUIDField):
        return str
    return None


def _text(value: Any) -> str:
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value if type(value) is str else str(value)


def _decimal(field: models.DecimalField) -> Callable[[Any], str]:
    step = decimal.Decimal(1).scaleb(-field.decimal_places)
    bound = decimal.Decimal(10) ** (field.max_digits - field.decimal_places)

    def fit(value: Any) -> str:
        number = decimal.Decimal(str(value)).quantize(step)
        if abs(number) >= bound:  # keep the low digits, which fit max_digits
            number %= bound
        return str(number)

    return fit


def _datetime(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None and getattr(django_settings, "USE_TZ", False):
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, datetime.date):
        return _datetime(datetime.datetime.combine(value, datetime.time()))
    return value


def _date(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, datetime.date) else value
