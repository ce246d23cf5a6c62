"""Print, as JSON, what the shop in ``default`` holds, as its staff and customers see it.

- ``rows``: each table's number of rows;
- ``catalogue``: products (title, UPC, class, categories, attributes, stock records),
  the category tree by path, and what treebeard's ``find_problems()`` finds in it;
- ``orders``: by number: status, totals, lines (title, SKU, quantity, price), the
  number of notes and status changes, and whether it has a shipping and billing address;
- ``personal``: the personal values the shop holds (names, emails, phone numbers,
  address lines, notes), for a test to look for in an export;
- ``invalid_phones``: phone numbers of addresses that are no valid number;
- ``logins``: the customers whose email and ``--password`` log them in, through Oscar's
  email authentication backend;
- ``dangling``: references to rows that are not there (and, with ``--export``, those of
  the export's files).
"""

import json
from pathlib import Path

from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from oscar.core.loading import get_model

from sitetools import Site

Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")
Order = get_model("order", "Order")
PROBLEMS = ("bad_alpha", "bad_path", "orphans", "bad_depth", "bad_numchild")


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--password", default="devdata")
        parser.add_argument("--export", help="an export directory to look for dangling references")

    def handle(self, password, export, **options):
        # "default" is the database this process works on, as the test site's SQLite.
        site = Site("sqlite", Path(export or "."), settings=None)
        self.stdout.write(
            json.dumps(
                {
                    "rows": rows(),
                    "catalogue": catalogue(),
                    "orders": orders(),
                    "personal": personal(),
                    "invalid_phones": invalid_phones(),
                    "logins": logins(password),
                    "dangling": site.dangling_in_database(where="production")
                    + (site.dangling_in_export() if export else []),
                },
                indent=1,
            )
        )


def rows() -> dict[str, int]:
    return {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def catalogue() -> dict:
    return {
        "products": {
            product.upc: {
                "title": product.title,
                "class": product.product_class.name,
                "categories": sorted(c.full_name for c in product.categories.all()),
                "attributes": {
                    value.attribute.code: value.value for value in product.attribute_values.all()
                },
                "stock": sorted(
                    [r.partner.name, r.partner_sku, str(r.price), r.num_in_stock]
                    for r in product.stockrecords.all()
                ),
            }
            for product in Product.objects.order_by("upc")
        },
        "categories": {c.path: c.full_name for c in Category.objects.order_by("path")},
        "tree_problems": {
            kind: ids for kind, ids in zip(PROBLEMS, Category.find_problems(), strict=True) if ids
        },
    }


def orders() -> dict[str, dict]:
    return {
        order.number: {
            "status": order.status,
            "total": str(order.total_incl_tax),
            "placed": order.date_placed.isoformat(),
            "customer": order.user_id is not None,
            "lines": [
                [line.title, line.partner_sku, line.quantity, str(line.line_price_incl_tax)]
                for line in order.lines.order_by("pk")
            ],
            "notes": [note.message for note in order.notes.all()],
            "status_changes": [
                [change.old_status, change.new_status] for change in order.status_changes.all()
            ],
            "addresses": [
                order.shipping_address_id is not None,
                order.billing_address_id is not None,
            ],
        }
        for order in Order.objects.order_by("number")
    }


def personal() -> list[str]:
    """Every personal value of customers (not staff), their addresses and orders, as text."""
    found = set()
    for user in User.objects.filter(is_staff=False):
        found |= {user.username, user.first_name, user.last_name, user.email}
    for label in ("address.UserAddress", "order.ShippingAddress", "order.BillingAddress"):
        for address in apps.get_model(label).objects.all():
            found |= {address.first_name, address.last_name, address.line1, address.line4,
                      address.postcode, address.search_text}  # fmt: skip
            if phone := getattr(address, "phone_number", None):
                found |= {phone.as_e164, phone.as_national}
            found.add(getattr(address, "notes", ""))
    found |= set(Order.objects.values_list("guest_email", flat=True))
    return sorted(value for value in found if value)


def invalid_phones() -> list[str]:
    return sorted(
        str(address.phone_number)
        for label in ("address.UserAddress", "order.ShippingAddress")
        for address in apps.get_model(label).objects.all()
        if address.phone_number and not address.phone_number.is_valid()
    )


def logins(password: str) -> list[str]:
    return sorted(
        user.username
        for user in User.objects.filter(is_staff=False)
        if authenticate(username=user.email, password=password) == user
    )
