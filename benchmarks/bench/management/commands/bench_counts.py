"""Print, as JSON, the rows and orphaned references of the benchmark's tables."""

import json
from typing import Any

from django.core.management.base import BaseCommand

from bench.inventory import orphans, row_counts, tables


class Command(BaseCommand):
    help = (
        "Print one JSON document: the table, row count and orphaned foreign keys of every "
        "benchmark model in the database (DATABASE_URL)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = {"tables": tables(), "rows": row_counts(), "orphans": orphans()}
        self.stdout.write(json.dumps(report))
