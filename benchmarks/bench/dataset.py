"""Generate the benchmark's rows: deterministic, realistic enough, inserted in large batches.

Keys are assigned here rather than by the database, so that references (forward ones
included) are known without reading rows back. Rows are tuples inserted with multi-row
INSERTs: model instances and ``bulk_create`` take about twice as long at a million
rows.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction

from .models import BENCH_MODELS, Customer, Order, OrderLine, Tag
from .shape import SEED, Shape

#: Rows per INSERT, at most (fewer where the database takes fewer parameters).
BATCH_SIZE = 5000
#: Orders generated, with their lines and tag links, before they are inserted.
ORDERS_PER_CHUNK = 20_000

START = datetime(2022, 7, 1, tzinfo=timezone.utc)
END = datetime(2025, 6, 30, 23, 59, 59, 999_999, tzinfo=timezone.utc)
REFERRED_SHARE = 0.3
NO_PHONE_SHARE = 0.25
#: Every this many customers, one has a name from AWKWARD_NAMES.
AWKWARD_EVERY = 97

FIRST_NAMES = [
    "Olivia", "Noah", "Amelia", "Oliver", "Isla", "George", "Ava", "Arthur", "Mia", "Leo",
    "Zoë", "José", "Siobhán", "Łukasz", "Søren", "Chloé", "Ömer", "Ana-María", "Björk",
    "Nguyễn", "Дмитрий", "Αθηνά", "陈", "さくら", "محمد", "O'Brien",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Müller", "García", "Kowalski", "Ó Briain", "Dubois", "Ødegaard", "Öztürk", "Nakamura",
    "Иванова", "Παπαδόπουλος", "王", "d'Artagnan", "van der Berg",
]  # fmt: skip
#: Names that exercise escaping in every dump format: tabs, newlines, backslashes, quotes,
#: COPY's null marker, characters outside the Basic Multilingual Plane.
AWKWARD_NAMES = [
    "Tab\tSeparated",
    "Line\nBreak",
    "Carriage\r\nReturn",
    "C:\\Users\\back\\slash",
    "\\N",
    "NULL",
    'Jane "JJ" O\'Neil',
    "semi;colon, comma | pipe",
    "emoji 😀 and ☃",
    "  padded  ",
]
TAG_NAMES = [
    "gift", "express", "fragile", "wholesale", "first-order", "vip", "click & collect",
    "réduction", "größe-xl", "東京", "back\\slash", 'say "cheese"', "tab\there", "new\nline",
]  # fmt: skip
STATUS_WEIGHTS = {
    Order.Status.PENDING: 3,
    Order.Status.PAID: 7,
    Order.Status.SHIPPED: 10,
    Order.Status.DELIVERED: 72,
    Order.Status.CANCELLED: 5,
    Order.Status.REFUNDED: 3,
}
QUANTITY_WEIGHTS = {1: 60, 2: 20, 3: 10, 4: 5, 6: 3, 12: 2}
OrderTag = Order.tags.through

Row = tuple[Any, ...]


@dataclass
class _Chunk:
    """Orders with their lines and tag links, as rows of their tables' columns."""

    orders: list[Row] = field(default_factory=list)
    lines: list[Row] = field(default_factory=list)
    links: list[Row] = field(default_factory=list)


def generate(shape: Shape) -> None:
    """Replace every row of the benchmark's tables with the rows of ``shape``."""
    rng = random.Random(SEED)
    with transaction.atomic():
        _flush()
        _insert(Tag, _tags(shape))
        customers = _customers(shape, rng)
        _insert(Customer, customers)
        # Referrers are set once every customer exists: many are newer than who they referred.
        meta = Customer._meta
        table, column = _quote(meta.db_table), _quote(meta.get_field("referred_by").column)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {column} = %s WHERE {_quote(meta.pk.column)} = %s",
                _referrals(shape, rng),
            )
        created_at = [customer[4] for customer in customers]
        for chunk in _orders(shape, created_at, rng):
            _insert(Order, chunk.orders)
            _insert(OrderTag, chunk.links)
            _insert(OrderLine, chunk.lines)
        # The rows carry explicit keys, so sequences (PostgreSQL) must be moved past them.
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), BENCH_MODELS):
                cursor.execute(sql)


def _flush() -> None:
    """Empty the benchmark's tables (TRUNCATE where the database has it)."""
    tables = [model._meta.db_table for model in BENCH_MODELS]
    with connection.cursor() as cursor:
        for sql in connection.ops.sql_flush(no_style(), tables, reset_sequences=True):
            cursor.execute(sql)


def _insert(model: type[models.Model], rows: Sequence[Row]) -> None:
    """Insert ``rows`` (values of the model's concrete fields, in order) into its table.

    Datetimes and decimals are adapted as Django adapts them for the database.
    """
    fields = model._meta.concrete_fields
    adapters = [_adapter(f) for f in fields]
    columns = ", ".join(_quote(f.column) for f in fields)
    placeholders = f"({', '.join(['%s'] * len(fields))})"
    max_params = connection.features.max_query_params
    batch = min(BATCH_SIZE, max_params // len(fields)) if max_params else BATCH_SIZE
    with connection.cursor() as cursor:
        for first in range(0, len(rows), batch):
            part = rows[first : first + batch]
            params = [
                adapt(value) if adapt else value
                for row in part
                for adapt, value in zip(adapters, row, strict=True)
            ]
            cursor.execute(
                f"INSERT INTO {_quote(model._meta.db_table)} ({columns}) "
                f"VALUES {', '.join([placeholders] * len(part))}",
                params,
            )


def _adapter(model_field: models.Field) -> Callable[[Any], Any] | None:
    if isinstance(model_field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(model_field, models.DecimalField):
        return partial(
            connection.ops.adapt_decimalfield_value,
            max_digits=model_field.max_digits,
            decimal_places=model_field.decimal_places,
        )
    return None


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _tags(shape: Shape) -> list[Row]:
    names = TAG_NAMES + [f"tag-{i:02d}" for i in range(shape.tags - len(TAG_NAMES))]
    return list(enumerate(names, start=1))


def _customers(shape: Shape, rng: random.Random) -> list[Row]:
    """Customers as ``(id, name, email, phone, created_at, referred_by_id)``."""
    span = _microseconds(END - START) // 2  # customers join in the first half of the history
    customers = []
    for pk in range(1, shape.customers + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if pk % AWKWARD_EVERY == 0:
            name = AWKWARD_NAMES[(pk // AWKWARD_EVERY) % len(AWKWARD_NAMES)]
        else:
            name = f"{first} {last}"
        email = f"{_ascii(first)}.{_ascii(last)}.{pk}@example.com"
        phone = None if rng.random() < NO_PHONE_SHARE else f"+44 7{rng.randrange(10**9):09d}"
        created_at = START + timedelta(microseconds=rng.randrange(span))
        customers.append((pk, name, email, phone, created_at, None))
    return customers


def _referrals(shape: Shape, rng: random.Random) -> list[tuple[int, int]]:
    """``(referrer, customer)`` for about 30% of the customers; referrers are any other one."""
    referrals = []
    for pk in range(1, shape.customers + 1):
        if rng.random() < REFERRED_SHARE:
            referrer = rng.randrange(1, shape.customers)
            referrals.append((referrer if referrer < pk else referrer + 1, pk))
    return referrals


def _orders(shape: Shape, created_at: list[datetime], rng: random.Random) -> Iterator[_Chunk]:
    """Orders in chunks; each has at least one line, N lines in all, five on average."""
    lines_per_order = [1] * shape.orders
    for index in rng.choices(range(shape.orders), k=shape.lines - shape.orders):
        lines_per_order[index] += 1
    tags_per_order = shape.tags_per_order()
    statuses, status_weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    quantities, quantity_weights = list(QUANTITY_WEIGHTS), list(QUANTITY_WEIGHTS.values())
    tag_pks = range(1, shape.tags + 1)
    line_pk = link_pk = 0
    for first in range(0, shape.orders, ORDERS_PER_CHUNK):
        chunk = _Chunk()
        for index in range(first, min(first + ORDERS_PER_CHUNK, shape.orders)):
            pk = index + 1
            customer = rng.randrange(shape.customers)
            joined = created_at[customer]
            placed_at = joined + timedelta(microseconds=rng.randrange(_microseconds(END - joined)))
            total = Decimal(0)
            for _ in range(lines_per_order[index]):
                line_pk += 1
                quantity = rng.choices(quantities, quantity_weights)[0]
                unit_price = Decimal(rng.randrange(99, 25_000)).scaleb(-2)
                total += quantity * unit_price
                sku = f"SKU-{rng.randrange(100_000):05d}"
                chunk.lines.append((line_pk, pk, sku, quantity, unit_price))
            for tag in rng.sample(tag_pks, tags_per_order[index]):
                link_pk += 1
                chunk.links.append((link_pk, pk, tag))
            status = rng.choices(statuses, status_weights)[0]
            chunk.orders.append((pk, customer + 1, placed_at, status, total))
        yield chunk


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _ascii(name: str) -> str:
    """``name`` as part of an email address: accents dropped, other scripts replaced."""
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    letters = "".join(c for c in decomposed.lower() if c.isalnum())
    return letters or "customer"
