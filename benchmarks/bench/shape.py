"""How many rows each table holds at a scale N (the number of order lines).

No Django imports: the settings read the subset's size from here before apps load.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Seed of every random choice the data makes: each run generates the same rows.
SEED = 20250630
TAGS = 50
#: Smallest scale: enough customers that the 10% subset holds a few.
MIN_SCALE = 1000


@dataclass(frozen=True)
class Shape:
    """Row counts at scale ``lines``: N lines, N/5 orders, N/20 customers, 50 tags."""

    lines: int

    def __post_init__(self) -> None:
        if self.lines < MIN_SCALE:
            raise ValueError(f"scale {self.lines} is below the minimum of {MIN_SCALE}")

    @property
    def customers(self) -> int:
        return self.lines // 20

    @property
    def orders(self) -> int:
        return self.lines // 5

    @property
    def tags(self) -> int:
        return TAGS

    @property
    def subset_customers(self) -> int:
        """The customers the ``subset`` case samples: 10%."""
        return self.customers // 10

    def tags_per_order(self) -> list[int]:
        """How many tags each order has: 0-3, two on average.

        A random stream of its own, so that the expected row count of the many-to-many
        table is known without generating the rest.
        """
        rng = random.Random(SEED + 1)
        return rng.choices(range(4), weights=(1, 2, 3, 4), k=self.orders)

    def row_counts(self) -> dict[str, int]:
        """Rows per model label, as the source database must hold them."""
        return {
            "bench.Customer": self.customers,
            "bench.Tag": self.tags,
            "bench.Order": self.orders,
            "bench.Order_tags": sum(self.tags_per_order()),
            "bench.OrderLine": self.lines,
        }
