"""What the benchmark's tables hold: rows per model, and references to rows that are missing."""

from __future__ import annotations

from django.db.models import Exists, ForeignKey, OuterRef

from .models import BENCH_MODELS


def tables() -> dict[str, str]:
    """Database table per model label."""
    return {model._meta.label: model._meta.db_table for model in BENCH_MODELS}


def row_counts() -> dict[str, int]:
    """Rows per model label."""
    return {model._meta.label: model._default_manager.count() for model in BENCH_MODELS}


def orphans() -> dict[str, int]:
    """Per foreign key (``label.field``), the rows whose non-null key points at no row.

    Constraints forbid these; counting them checks that a subset is closed even where a
    tool might have loaded with constraint checks off.
    """
    counts = {}
    for model in BENCH_MODELS:
        for field in model._meta.concrete_fields:
            if not isinstance(field, ForeignKey):
                continue
            target = field.related_model._default_manager.filter(pk=OuterRef(field.attname))
            counts[f"{model._meta.label}.{field.name}"] = (
                model._default_manager.filter(**{f"{field.attname}__isnull": False})
                .filter(~Exists(target))
                .count()
            )
    return counts
