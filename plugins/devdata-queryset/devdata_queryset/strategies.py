"""Strategies that export rows with Django QuerySets and load them back.

The core does the work that every strategy shares (keeping references intact,
anonymising, streaming rows to and from files); these classes only choose rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.serializers.base import DeserializedObject
from django.db.models import Model, QuerySet

from devdata_core import exporting, importing
from devdata_core.settings import model_label
from devdata_core.strategies import Exportable, Logger, Strategy


class QuerySetStrategy(Exportable, Strategy):
    """Export the rows of a QuerySet (all rows, by default) that keep references intact.

    With ``pull_parents=True`` the rows bring in the rows they reference through
    non-null foreign keys (and nullable ones too with ``pull_nullable=True``), instead
    of being dropped when those were not exported. Rows whose references point at rows
    left out follow their foreign key's ``on_delete``, or are dropped with
    ``missing_references="drop"`` (see :mod:`devdata_core.rules`).
    """

    def __init__(
        self,
        *args: Any,
        anonymise: bool = True,
        pull_parents: bool = False,
        pull_nullable: bool = False,
        missing_references: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.anonymise = anonymise
        self.pull_parents = pull_parents
        self.pull_nullable = pull_nullable
        self.missing_references = missing_references

    @property
    def takes_every_row(self) -> bool:
        """True unless a subclass narrows the rows (``get_queryset``) or exports its own way."""
        cls = type(self)
        return (
            cls.get_queryset is QuerySetStrategy.get_queryset
            and cls.export_data is QuerySetStrategy.export_data
        )

    @property
    def loads_data_file(self) -> bool:
        """True unless a subclass loads its own way (``import_data``, ``import_objects``)."""
        cls = type(self)
        return (
            cls.import_data is QuerySetStrategy.import_data
            and cls.import_objects is QuerySetStrategy.import_objects
        )

    def get_queryset(self, django_dbname: str, dest: Path, model: type[Model]) -> QuerySet:
        """The rows to export; subclasses narrow it down, calling ``super()`` first."""
        queryset = model._default_manager.using(django_dbname)
        return exporting.current_run().restrict(queryset, model, self)

    def export_data(
        self,
        django_dbname: str,
        dest: Path,
        model: type[Model],
        no_update: bool = False,
        log: Logger = lambda message: None,
    ) -> None:
        queryset = self.get_queryset(django_dbname, dest, model)
        exporting.current_run().export_queryset(self, queryset, model, no_update)

    def import_data(self, django_dbname: str, src: Path, model: type[Model]) -> None:
        path = self.existing_data_file(src, model_label(model))
        if path is None:
            raise FileNotFoundError(self.data_file(src, model_label(model)))
        if type(self).import_objects is QuerySetStrategy.import_objects:
            importing.load_file(model, path, django_dbname)
        else:
            # A subclass changes how instances go in: give it instances.
            objects = importing.read_objects(path, django_dbname)
            self.import_objects(django_dbname, src, model, objects)

    def import_objects(
        self,
        django_dbname: str,
        src: Path,
        model: type[Model],
        objects: Iterable[DeserializedObject],
    ) -> None:
        """Load deserialised ``objects``; override to change how rows go in."""
        importing.load_objects(model, objects, django_dbname)


class ExactQuerySetStrategy(QuerySetStrategy):
    """Export the rows with the given primary keys."""

    def __init__(self, *args: Any, pks: Iterable[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pks = tuple(pks)

    def get_queryset(self, django_dbname: str, dest: Path, model: type[Model]) -> QuerySet:
        return super().get_queryset(django_dbname, dest, model).filter(pk__in=self.pks)


class RandomSampleQuerySetStrategy(QuerySetStrategy):
    """Export ``count`` rows chosen at random."""

    def __init__(self, *args: Any, count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = count

    def get_queryset(self, django_dbname: str, dest: Path, model: type[Model]) -> QuerySet:
        return super().get_queryset(django_dbname, dest, model).order_by("?")[: self.count]


class LatestSampleQuerySetStrategy(QuerySetStrategy):
    """Export the first ``count`` rows in ``order_by`` order (the newest, by default)."""

    def __init__(self, *args: Any, count: int, order_by: str = "-pk", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = count
        self.order_by = order_by

    def get_queryset(self, django_dbname: str, dest: Path, model: type[Model]) -> QuerySet:
        return (
            super().get_queryset(django_dbname, dest, model).order_by(self.order_by)[: self.count]
        )


class ModelReverseRelationshipQuerySetStrategy(QuerySetStrategy):
    """Export rows chosen through a relationship that points the other way.

    For a model that other models reference (an order's ``charge``), subclasses
    return in :meth:`get_reverse_filter` a filter over the rows that were exported,
    e.g. ``{"order__in": get_exported_pks_for_model(dest, Order)}``, and list the
    referencing model in ``depends_on`` so that it is exported first.
    """

    def get_reverse_filter(self, dest: Path, model: type[Model]) -> dict[str, Any]:
        raise NotImplementedError

    def get_queryset(self, django_dbname: str, dest: Path, model: type[Model]) -> QuerySet:
        queryset = super().get_queryset(django_dbname, dest, model)
        return queryset.filter(**self.get_reverse_filter(dest, model))


class DeleteFirstQuerySetStrategy(QuerySetStrategy):
    """Empty the table before loading, for tables the fresh database fills itself."""

    def import_data(self, django_dbname: str, src: Path, model: type[Model]) -> None:
        model._base_manager.using(django_dbname).all().delete()
        super().import_data(django_dbname, src, model)
