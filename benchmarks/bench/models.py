"""A shop's tables at benchmark scale: customers place orders of order lines, orders are tagged.

The shapes are the ones devdata must handle at speed: a nullable self-reference with forward
references, a chain of foreign keys, an auto-created many-to-many table, unique columns,
microsecond datetimes and decimals.
"""

from django.db import models


class Customer(models.Model):
    """Someone who buys; about 30% were referred by another customer, older or newer."""

    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    phone = models.CharField(max_length=40, null=True, blank=True)
    created_at = models.DateTimeField()
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )


class Tag(models.Model):
    """A label on orders."""

    name = models.CharField(max_length=50, unique=True)


class Order(models.Model):
    """An order of a customer, with 0-3 tags."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"
        REFUNDED = "refunded"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    placed_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    tags = models.ManyToManyField(Tag, blank=True, related_name="orders")


class OrderLine(models.Model):
    """One product line of an order; the benchmark's scale N is this table's row count."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=32)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)


#: Every table of the benchmark, parents first; ``Order.tags.through`` is auto-created.
BENCH_MODELS: list[type[models.Model]] = [Tag, Customer, Order, Order.tags.through, OrderLine]
