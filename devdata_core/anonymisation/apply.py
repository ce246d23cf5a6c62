"""Applying the configured anonymisers to rows on their way out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from django.db.models import Field, Model
from django.utils.functional import SimpleLazyObject
from faker import Faker

from ..anonymisers import Anonymiser, is_kept
from ..errors import StrategyError
from ..keys import KeySet
from ..serialization import Row, RowSerializer, Values
from ..settings import DevdataSettings, model_label
from .generators import Bound, Context, running


class Anonymisation:
    """The anonymisers of one export run, bound to their fields, and the Faker instance
    that anonymisers of the 1.x protocol share."""

    def __init__(
        self,
        settings: DevdataSettings,
        dest: Path,
        on_replaced: Callable[[type[Model], str, Any], None] | None = None,
        keys: Callable[[type[Model], str], KeySet] | None = None,
    ) -> None:
        self.settings = settings
        self.dest = dest
        #: Told of every original value an anonymiser replaced (model, field name, the
        #: original), so that the leak audit can look for it elsewhere in the export.
        self.on_replaced = on_replaced
        locales = settings.faker_locales
        # One locale given as a list costs Faker a lookup per value; weighting names by
        # how common they are costs it more. Dev data needs neither.
        self.fake = Faker(
            locales[0] if locales and len(locales) == 1 else locales, use_weighting=False
        )
        #: What anonymisers bind with: the key, the locales, the keys exported so far.
        self.context = Context(
            settings.anonymisation_key, tuple(locales or ()), keys=keys, bind=self.bind
        )
        self._bound: dict[tuple[type[Model], bool], dict[str, Bound]] = {}

    def check(self, models: Iterable[type[Model]]) -> None:
        """Bind the anonymisers of ``models`` now, so that a field that cannot hold its
        fakes stops the export before it reads a row (a ConfigError)."""
        for model in models:
            self.for_model(model)

    def for_model(self, model: type[Model], credentials_only: bool = False) -> dict[str, Bound]:
        """The anonymisers that change a model's values, bound to their fields, by field
        name (kept fields left out). ``credentials_only``: only the replacements of
        password hashes, for strategies that export values as they are
        (``anonymise=False``), which still carry no credentials."""
        model = model._meta.concrete_model
        if (model, credentials_only) not in self._bound:
            settings = self.settings
            chosen = (
                settings.credential_anonymisers_for(model)
                if credentials_only
                else settings.anonymisers_for(model)
            )
            self._bound[model, credentials_only] = {
                name: self.bind(anonymiser, model._meta.get_field(name))
                for name, anonymiser in chosen.items()
                if not is_kept(anonymiser)
            }
        return self._bound[model, credentials_only]

    def bind(self, anonymiser: Anonymiser, field: Field) -> Bound:
        """``anonymiser`` as a function of (original value, row instance): its own fast
        path if it has one, else a call with the 1.x keyword arguments."""
        bind = getattr(anonymiser, "bind", None)
        if bind is not None:
            return bind(field, self.context)
        name, fake, dest, context = field.name, self.fake, self.dest, self.context

        def anonymise(original: Any, instance: Callable[[], Model]) -> Any:
            # Anonymisers it wraps, called the 1.x way, find the export's context.
            token = running.set(context)
            try:
                return anonymiser(
                    obj=SimpleLazyObject(instance),
                    field=name,
                    pii_value=original,
                    fake=fake,
                    dest=dest,
                )
            finally:
                running.reset(token)

        return anonymise

    def apply(
        self,
        serializer: RowSerializer,
        values: Values,
        row: Row,
        anonymisers: dict[str, Bound],
        strategy: str,
    ) -> None:
        """Replace the personal values of ``row`` (made from ``values``) in place.

        Anonymisers get the row's model instance; it is built only if one of them looks
        at it (Faker-based ones do not).
        """
        fields: dict[str, Any] = row["fields"]
        instance = partial(serializer.instance, values)
        on_replaced = self.on_replaced
        for name, anonymise in anonymisers.items():
            original = fields[name]
            try:
                fields[name] = fake = anonymise(original, instance)
            except Exception as exc:
                raise StrategyError(
                    f"anonymiser of {model_label(serializer.model)}.{name} failed on pk "
                    f"{row['pk']!r} (strategy {strategy!r}): {type(exc).__name__}: {exc}"
                ) from exc
            if on_replaced and fake != original:
                on_replaced(serializer.model, name, original)
