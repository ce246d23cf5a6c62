"""Print, as JSON, how each table of ``default`` differs from the same table of ``--source``.

Rows are matched by primary key and compared by value, column by column. References to
content types and permissions are compared by natural key (their ids may differ between
two databases), and so are the content-type and permission tables themselves.
Prints ``{}`` for two databases with the same rows.
"""

import json
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="the alias of the source database")

    def handle(self, source, **options):
        differences = {}
        for model in apps.get_models(include_auto_created=True):
            if not model._meta.managed or model._meta.proxy:
                continue
            found = compare(rows(model, source), rows(model, "default"))
            if found:
                differences[model._meta.db_table] = found
        self.stdout.write(json.dumps(differences, cls=DjangoJSONEncoder, indent=1))


def rows(model: type[models.Model], alias: str) -> dict[Any, dict[str, Any]]:
    """The rows of ``model``'s table in ``alias`` by key (content types and permissions by
    natural key), each a dict of column values."""
    content_types = {ct.pk: f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.using(alias)}
    permissions = {
        pk: f"{content_types[ct]}.{codename}"
        for pk, ct, codename in Permission.objects.using(alias).values_list(
            "pk", "content_type", "codename"
        )
    }
    fields = model._meta.local_concrete_fields
    columns = [field.attname for field in fields]
    found = {}
    for values in model._base_manager.using(alias).values_list(*columns):
        row = {}
        for field, value in zip(fields, values, strict=True):
            target = field.related_model if field.is_relation else None
            if value is not None and target is ContentType:
                value = content_types.get(value, value)
            elif value is not None and target is Permission:
                value = permissions.get(value, value)
            row[field.attname] = value
        if model is ContentType:
            key = content_types[row.pop("id")]
        elif model is Permission:
            key = permissions[row.pop("id")]
        else:
            key = row[model._meta.pk.attname]
        found[key] = row
    return found


def compare(source: dict[Any, dict], copy: dict[Any, dict]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if missing := sorted(set(source) - set(copy), key=str):
        found["missing"] = missing
    if extra := sorted(set(copy) - set(source), key=str):
        found["extra"] = {str(key): copy[key] for key in extra}
    changed = {
        str(key): {
            column: [value, copy[key][column]]
            for column, value in row.items()
            if copy[key][column] != value
        }
        for key, row in source.items()
        if key in copy and copy[key] != row
    }
    if changed:
        found["changed"] = changed
    return found
