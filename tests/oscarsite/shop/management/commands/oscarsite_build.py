"""Fill a freshly migrated database with a small shop, through Oscar's own APIs.

A category tree, two product classes with attributes, products with images of none but
stock records at two partners, a range and an offer, customers with addresses (one
shipping-only, one default for both), open baskets, orders placed through Oscar's order
creator with shipping and billing addresses, notes and a status change, a review, a
wishlist and a product alert.
"""

import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from oscar.apps.catalogue.categories import create_from_breadcrumbs
from oscar.core.loading import get_class, get_model
from oscar.test.factories import create_offer, create_order

Country = get_model("address", "Country")
UserAddress = get_model("address", "UserAddress")
ShippingAddress = get_model("order", "ShippingAddress")
BillingAddress = get_model("order", "BillingAddress")
Basket = get_model("basket", "Basket")
ProductClass = get_model("catalogue", "ProductClass")
ProductAttribute = get_model("catalogue", "ProductAttribute")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
Range = get_model("offer", "Range")
ProductReview = get_model("reviews", "ProductReview")
WishList = get_model("wishlists", "WishList")
ProductAlert = get_model("customer", "ProductAlert")
Selector = get_class("partner.strategy", "Selector")

#: The customers: username, first and last name, email, phone, street, city, postcode.
CUSTOMERS = [
    ("zorbina", "Zorbina", "Quillfeather", "zorbina.q@example.org", "+44 20 7946 0958",
     "12 Analytical Lane", "Kelmsbury", "N1 9GU"),
    ("yestrel", "Yestrel", "Marrowdyke", "yestrel.m@example.org", "+44 161 496 0123",
     "7 Compiler Close", "Throxford", "M1 1AE"),
    ("orwin", "Orwin", "Thistlewaite", "orwin.t@example.org", "+44 117 496 0456",
     "3 Enigma Road", "Wistlebridge", "BS1 4DJ"),
]  # fmt: skip


class Command(BaseCommand):
    help = __doc__

    def handle(self, **options):
        uk = Country.objects.create(
            iso_3166_1_a2="GB", iso_3166_1_a3="GBR", iso_3166_1_numeric="826",
            printable_name="United Kingdom", name="United Kingdom of Great Britain",
            is_shipping_country=True,
        )  # fmt: skip
        Country.objects.create(iso_3166_1_a2="FR", printable_name="France", name="France")

        # The catalogue: a tree of categories, product classes with attributes.
        crime = create_from_breadcrumbs("Books > Fiction > Crime")
        science = create_from_breadcrumbs("Books > Non-fiction > Science")
        create_from_breadcrumbs("Music > Vinyl")
        books = ProductClass.objects.create(name="Book", requires_shipping=True)
        ProductAttribute.objects.create(
            product_class=books, name="Pages", code="pages", type="integer"
        )
        ProductAttribute.objects.create(
            product_class=books, name="Hardcover", code="hardcover", type="boolean"
        )
        ebooks = ProductClass.objects.create(
            name="E-book", requires_shipping=False, track_stock=False
        )
        warehouse = Partner.objects.create(name="Warehouse")
        bookshop = Partner.objects.create(name="Corner Bookshop")
        products = []
        for number, (title, product_class, category) in enumerate(
            [
                ("The Moonstone", books, crime),
                ("A Study in Scarlet", books, crime),
                ("On the Origin of Species", books, science),
                ("Cosmos (e-book)", ebooks, science),
            ]
        ):
            product = Product(product_class=product_class, title=title, upc=f"978000000{number}")
            if product_class is books:
                product.attr.pages = 200 + number
                product.attr.hardcover = bool(number % 2)
            product.save()
            ProductCategory.objects.create(product=product, category=category)
            StockRecord.objects.create(
                product=product, partner=warehouse, partner_sku=f"WH-{number}",
                price=Decimal("9.99") + number, num_in_stock=20,
            )  # fmt: skip
            if number < 2:
                StockRecord.objects.create(
                    product=product, partner=bookshop, partner_sku=f"CB-{number}",
                    price=Decimal("11.50"), num_in_stock=3,
                )  # fmt: skip
            products.append(product)
        everything = Range.objects.create(name="Everything", includes_all_products=True)
        create_offer(name="Ten percent off", product_range=everything)

        # Customers, with their addresses, baskets and orders.
        admin = User.objects.create_superuser("admin", "admin@example.com", "pw")
        strategy = Selector().strategy()
        for number, (username, first, last, email, phone, street, city, postcode) in enumerate(
            CUSTOMERS
        ):
            user = User.objects.create_user(username, email, "pw", first_name=first, last_name=last)
            person = {"first_name": first, "last_name": last, "line1": street,
                      "line4": city, "postcode": postcode, "country": uk}  # fmt: skip
            UserAddress.objects.create(
                user=user, phone_number=phone, is_default_for_shipping=True,
                is_default_for_billing=True, **person,
            )  # fmt: skip
            for order_number in range(number + 1):
                basket = Basket.objects.create(owner=user)
                basket.strategy = strategy
                basket.add_product(products[order_number], quantity=order_number + 1)
                basket.add_product(products[3])
                order = create_order(
                    number=f"{100000 + 10 * number + order_number}",
                    basket=basket,
                    user=user,
                    shipping_address=ShippingAddress.objects.create(
                        phone_number=phone, notes=f"Leave it with {first} next door", **person
                    ),
                    billing_address=BillingAddress.objects.create(**person),
                    guest_email="",
                )
                order.notes.create(user=admin, message="Gift wrapped")
                order.set_status("Being processed")
                order.date_placed = datetime.datetime(
                    2025, 3, 1 + order_number, tzinfo=datetime.timezone.utc
                )
                order.save()
            # An open basket, still in use.
            basket = Basket.objects.create(owner=user)
            basket.strategy = strategy
            basket.add_product(products[1])
            WishList.objects.create(owner=user, name="Later").add(products[2])
            ProductAlert.objects.create(user=user, product=products[0])
        ProductReview.objects.create(
            product=products[0], user=User.objects.get(username="zorbina"), score=5,
            title="Gripping", body="Could not put it down.",
        )  # fmt: skip
        # A guest's order: only an email.
        basket = Basket.objects.create()
        basket.strategy = strategy
        basket.add_product(products[2])
        create_order(
            number="200000",
            basket=basket,
            guest_email="guest.buyer@example.net",
            shipping_address=ShippingAddress.objects.create(
                first_name="Gusmundo", last_name="Guestworthy", line1="99 Visitor Street",
                line4="Pennocombe", postcode="LS1 4AP", country=uk, phone_number="+44 113 496 0789",
            ),
        )  # fmt: skip
