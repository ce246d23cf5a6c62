"""Applying the configured anonymisers to rows on their way out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db.models import Model
from django.utils.functional import SimpleLazyObject
from faker import Faker

from ..anonymisers import Anonymiser, is_kept
from ..errors import StrategyError
from ..serialization import Row, RowSerializer, Values
from ..settings import DevdataSettings, model_label


class Anonymisation:
    """The anonymisers of one export run, and the Faker instance they share."""

    def __init__(
        self,
        settings: DevdataSettings,
        dest: Path,
        on_replaced: Callable[[type[Model], str, Any], None] | None = None,
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

    def for_model(self, model: type[Model]) -> dict[str, Anonymiser]:
        """The anonymisers that change a model's values, by field name (kept fields left out)."""
        return {
            name: anonymiser
            for name, anonymiser in self.settings.anonymisers_for(model).items()
            if not is_kept(anonymiser)
        }

    def apply(
        self,
        serializer: RowSerializer,
        values: Values,
        row: Row,
        anonymisers: dict[str, Anonymiser],
        strategy: str,
    ) -> None:
        """Replace the personal values of ``row`` (made from ``values``) in place.

        Anonymisers get the row's model instance as ``obj``; it is built only if one of
        them looks at it (Faker-based ones do not).
        """
        fields: dict[str, Any] = row["fields"]
        obj = SimpleLazyObject(lambda: serializer.instance(values))
        for name, anonymise in anonymisers.items():
            original = fields[name]
            try:
                fields[name] = anonymise(
                    obj=obj, field=name, pii_value=original, fake=self.fake, dest=self.dest
                )
            except Exception as exc:
                raise StrategyError(
                    f"anonymiser of {model_label(serializer.model)}.{name} failed on pk "
                    f"{row['pk']!r} (strategy {strategy!r}): {type(exc).__name__}: {exc}"
                ) from exc
            if self.on_replaced and fields[name] != original:
                self.on_replaced(serializer.model, name, original)
