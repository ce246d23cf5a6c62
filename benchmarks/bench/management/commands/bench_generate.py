"""Fill the source database with the benchmark's rows, unless it holds them already."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.dataset import generate
from bench.inventory import row_counts
from bench.shape import Shape


class Command(BaseCommand):
    help = (
        "Generate the benchmark's rows at scale N (order lines) into the migrated database "
        "(DATABASE_URL); keep what is there if it holds exactly the expected row counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=int, required=True, help="order lines N (the largest table)"
        )

    def handle(self, *args: Any, scale: int, **options: Any) -> None:
        try:
            shape = Shape(scale)
        except ValueError as error:
            raise CommandError(str(error)) from None
        expected = shape.row_counts()
        if row_counts() == expected:
            self.stdout.write(f"already generated: {sum(expected.values()):,} rows, kept")
            return
        started = time.perf_counter()
        generate(shape)
        found = row_counts()
        if found != expected:
            raise CommandError(f"generated {found}, expected {expected}")
        self.stdout.write(
            f"generated {sum(found.values()):,} rows in {time.perf_counter() - started:.1f}s"
        )
