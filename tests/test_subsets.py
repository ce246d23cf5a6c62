"""Subsets that follow references upwards: pulled parents, a default that does not leak,
generic foreign keys, multi-table inheritance, natural keys and ``devdata_export --plan``.

The shop of ``testsite.shop``: customers are sampled, and what belongs to them comes
along — their orders and order lines, the addresses and products those reference, the
products' images, and the tags and comments on any of these — but nothing of the
customers left behind.
"""

import re
from datetime import datetime, timedelta, timezone

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site as SiteModel

from devdata_core.settings import model_label
from devdata_queryset import (
    DeleteFirstQuerySetStrategy,
    ExactQuerySetStrategy,
    LatestSampleQuerySetStrategy,
    ModelReverseRelationshipQuerySetStrategy,
    QuerySetStrategy,
    RandomSampleQuerySetStrategy,
)
from sitetools import content_type
from testsite.library.models import Author, Book
from testsite.library.models import Tag as LibraryTag
from testsite.polls.models import Choice, Question
from testsite.shop.models import (
    Address,
    Comment,
    Customer,
    DigitalProduct,
    Image,
    Order,
    OrderLine,
    Product,
    Tag,
    TaggedItem,
    VipCustomer,
)

pytestmark = pytest.mark.usefixtures("intact")

NOON = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)

#: The shop's models that hold rows, in the order the assertions list them.
SHOP = (
    Customer,
    Order,
    OrderLine,
    Address,
    Product,
    DigitalProduct,
    Image,
    TaggedItem,
    Tag,
    Comment,
)


# Building production ---------------------------------------------------------------


def make_customers(site, *pks):
    for pk in pks:
        Customer.objects.using(site.src).create(pk=pk, name=f"customer {pk}", email=f"{pk}@x.org")


def make_addresses(site, *pks):
    for pk in pks:
        Address.objects.using(site.src).create(pk=pk, line1=f"{pk} High Street", city="Leeds")


def make_images(site, *pks):
    for pk in pks:
        Image.objects.using(site.src).create(pk=pk, url=f"https://img.example/{pk}.png")


def make_product(site, pk, image=None, digital=False):
    fields = {"pk": pk, "name": f"product {pk}", "image_id": image}
    if digital:
        return DigitalProduct.objects.using(site.src).create(
            **fields, download_url=f"https://dl.example/{pk}"
        )
    return Product.objects.using(site.src).create(**fields)


def make_order(site, pk, customer, ship, bill=None, hour=0):
    return Order.objects.using(site.src).create(
        pk=pk,
        customer_id=customer,
        shipping_address_id=ship,
        billing_address_id=bill,
        placed_at=NOON + timedelta(hours=hour),
    )


def make_line(site, pk, order, product):
    return OrderLine.objects.using(site.src).create(
        pk=pk, order_id=order, product_id=product, quantity=pk % 3 + 1
    )


def tag(site, pk, name, model, object_id):
    """TaggedItem ``pk``: tag ``name`` (made if need be) on object ``object_id`` of ``model``."""
    the_tag, _ = Tag.objects.using(site.src).get_or_create(name=name, defaults={"pk": TAGS[name]})
    return TaggedItem.objects.using(site.src).create(
        pk=pk, tag=the_tag, content_type=content_type(site.src, model), object_id=object_id
    )


def comment(site, pk, model, object_id):
    return Comment.objects.using(site.src).create(
        pk=pk,
        content_type=content_type(site.src, model),
        object_id=object_id,
        text=f"comment {pk}",
    )


TAGS = {"red": 61, "blue": 62, "green": 63, "unused": 64}


def seed_shop(site):
    """Ann (1) and Bob (2) have ordered; Cid (3) has not.

    =====  ========================================================================
    Ann    orders 41 (ships to 11, bills 12) and 42 (ships to 11, no billing address);
           lines 51 (product 31), 52 (digital product 34), 53 (product 33)
    Bob    order 43 (ships to 13, bills 14); lines 54 (product 32), 55 (product 31,
           which Ann ordered too), 56 (digital product 35)
    none   address 15, product 36 and its image 24, tag "unused"
    =====  ========================================================================

    Products 31, 32, 34 and 36 show images 21, 22, 23 and 24. Tags (61 red, 62 blue,
    63 green) and comments sit on products, orders and customers of both, and one
    comment on an object of a model that no longer exists.
    """
    make_customers(site, 1, 2, 3)
    make_addresses(site, 11, 12, 13, 14, 15)
    make_images(site, 21, 22, 23, 24)
    for pk, image, digital in [
        (31, 21, False),
        (32, 22, False),
        (33, None, False),
        (34, 23, True),
        (35, None, True),
        (36, 24, False),
    ]:
        make_product(site, pk, image, digital)
    make_order(site, 41, customer=1, ship=11, bill=12, hour=1)
    make_order(site, 42, customer=1, ship=11, hour=2)
    make_order(site, 43, customer=2, ship=13, bill=14, hour=3)
    for pk, order, product in [
        (51, 41, 31),
        (52, 41, 34),
        (53, 42, 33),
        (54, 43, 32),
        (55, 43, 31),
        (56, 43, 35),
    ]:
        make_line(site, pk, order, product)
    Tag.objects.using(site.src).create(pk=TAGS["unused"], name="unused")
    tag(site, 71, "red", Product, 31)
    tag(site, 72, "blue", Product, 32)
    tag(site, 73, "green", Order, 41)
    tag(site, 74, "red", Product, 36)
    tag(site, 75, "green", Customer, 2)
    tag(site, 76, "green", DigitalProduct, 34)
    tag(site, 77, "blue", DigitalProduct, 35)
    comment(site, 81, Product, 31)
    comment(site, 82, Order, 43)
    comment(site, 83, Customer, 1)
    comment(site, 84, Customer, 2)
    comment(site, 85, Product, 35)
    gone = ContentType.objects.using(site.src).create(app_label="legacy", model="gone")
    Comment.objects.using(site.src).create(pk=86, content_type=gone, object_id=1, text="stale")


#: What comes with each customer of ``seed_shop``, and nothing else.
BELONGINGS = {
    1: {
        Customer: {1},
        Order: {41, 42},
        OrderLine: {51, 52, 53},
        # 12 only through the nullable billing_address: a reference-only model takes
        # every row that exported rows reference, or orders with one would be dropped.
        Address: {11, 12},
        Product: {31, 33, 34},
        DigitalProduct: {34},
        Image: {21, 23},
        TaggedItem: {71, 73, 76},
        Tag: {61, 63},
        Comment: {81, 83},
    },
    2: {
        Customer: {2},
        Order: {43},
        OrderLine: {54, 55, 56},
        Address: {13, 14},
        Product: {31, 32, 35},
        DigitalProduct: {35},
        Image: {21, 22},
        TaggedItem: {71, 72, 75, 77},
        Tag: {61, 62, 63},
        Comment: {81, 82, 84, 85},
    },
    3: {Customer: {3}},
}


def belongings(*customers):
    return {
        model_label(model): set().union(*(BELONGINGS[c].get(model, set()) for c in customers))
        for model in SHOP
    }


def exported(site, models=SHOP):
    """Keys in the export, by model label."""
    return {model_label(model): site.exported_pks(model_label(model)) for model in models}


def arrived(site, models=SHOP):
    """Keys in the dev database, by model label."""
    return {model_label(model): site.pks(model) for model in models}


def assert_taken(site, expected):
    """The export holds exactly ``expected`` (label -> keys), and so does the dev database."""
    models = [apps.get_model(label) for label in expected]
    assert exported(site, models) == expected
    assert arrived(site, models) == expected


# A default that does not leak ---------------------------------------------------------


@pytest.mark.parametrize(
    "customers", [(1,), (2,), (3,), (1, 2)], ids=["ann", "bob", "cid", "ann-and-bob"]
)
def test_a_sample_of_customers_takes_just_what_belongs_to_them(site, customers):
    """Only Customer is configured; every other model has the default strategy.

    Orders are restricted by their customer and lines by their order. Address, Product,
    Image and Tag reference nothing configured and are referenced: they are
    reference-only and take just the rows that exported rows reference. DigitalProduct
    follows its parent rows. Tags and comments come only with the objects they are on.
    """
    seed_shop(site)
    site.configure(
        DEVDATA_STRATEGIES={"shop.Customer": [ExactQuerySetStrategy(name="some", pks=customers)]}
    )

    site.roundtrip()

    assert_taken(site, belongings(*customers))
    assert not (site.export_dir / "shop.VipCustomer").exists()
    # The dev database's migrations made content types and permissions; none are exported.
    assert site.exported_pks("contenttypes.ContentType") == set()
    assert site.exported_pks("auth.Permission") == set()


def test_a_random_sample_of_customers_takes_just_what_belongs_to_them(site):
    seed_shop(site)
    site.configure(
        DEVDATA_STRATEGIES={"shop.Customer": [RandomSampleQuerySetStrategy(name="some", count=2)]},
        DEVDATA_DEFAULT_STRATEGY=QuerySetStrategy(name="all"),
    )

    site.roundtrip()

    sampled = site.exported_pks("shop.Customer")
    assert len(sampled) == 2
    assert sampled <= {1, 2, 3}
    assert_taken(site, belongings(*sampled))


def test_a_default_model_is_taken_whole_only_if_nothing_references_it(site):
    """Customer is configured; polls and sites are left to the default.

    Choices and sites are referenced by nothing and reference nothing configured: all of
    them come. Questions are referenced only by choices, which are taken whole, so all
    questions come too. Addresses are referenced only by orders, which follow the sampled
    customers: only the addresses that exported orders reference come (none here).
    """
    make_customers(site, 1)
    make_addresses(site, 11)
    for pk in (1, 2):
        Question.objects.using(site.src).create(pk=pk, question_text=f"q{pk}", pub_date=NOON)
    Choice.objects.using(site.src).create(pk=11, question_id=1, choice_text="yes")
    SiteModel.objects.using(site.src).create(pk=2, domain="shop.example", name="Shop")
    site.configure(
        DEVDATA_STRATEGIES={"shop.Customer": [ExactQuerySetStrategy(name="one", pks=[1])]}
    )

    site.roundtrip()

    assert_taken(
        site,
        {
            "shop.Customer": {1},
            "shop.Address": set(),
            "polls.Choice": {11},
            "polls.Question": {1, 2},
            "sites.Site": {1, 2},
        },
    )


def test_a_default_model_referenced_through_a_many_to_many_table_takes_referenced_rows(site):
    """library.Tag is referenced by the auto-created Book_tags table: it is reference-only,
    so the tags of books left behind stay behind with them."""
    authors = [Author.objects.using(site.src).create(pk=pk, name=f"a{pk}") for pk in (1, 2)]
    tags = {
        n: LibraryTag.objects.using(site.src).create(pk=pk, name=n)
        for pk, n in enumerate("xyzw", start=1)
    }
    for pk, author, names in [(11, 0, "x"), (12, 1, "yz"), (13, 0, "")]:
        book = Book.objects.using(site.src).create(pk=pk, title=f"b{pk}", author=authors[author])
        book.tags.set([tags[n] for n in names])
    site.configure(
        DEVDATA_STRATEGIES={"library.Author": [ExactQuerySetStrategy(name="one", pks=[1])]}
    )

    site.roundtrip()

    assert_taken(site, {"library.Author": {1}, "library.Book": {11, 13}, "library.Tag": {1}})
    assert set(Book.tags.through.objects.using(site.dev).values_list("book", "tag")) == {(11, 1)}


def test_new_shop_rows_can_be_created_after_the_import(site):
    """Key sequences are reset for the rows that were pulled in, too."""
    seed_shop(site)
    site.configure(
        DEVDATA_STRATEGIES={"shop.Customer": [ExactQuerySetStrategy(name="some", pks=[1, 2])]}
    )

    site.roundtrip()

    dev = site.dev
    before = {model_label(m): m._base_manager.using(dev).count() for m in SHOP}
    assert all(before.values()), before
    customer = Customer.objects.using(dev).create(name="new", email="new@x.org")
    address = Address.objects.using(dev).create(line1="new", city="new")
    image = Image.objects.using(dev).create(url="new")
    product = Product.objects.using(dev).create(name="new", image=image)
    DigitalProduct.objects.using(dev).create(name="new", download_url="new")
    order = Order.objects.using(dev).create(
        customer=customer, shipping_address=address, placed_at=NOON
    )
    OrderLine.objects.using(dev).create(order=order, product=product)
    new_tag = Tag.objects.using(dev).create(name="new")
    product_type = content_type(dev, Product)
    TaggedItem.objects.using(dev).create(
        tag=new_tag, content_type=product_type, object_id=product.pk
    )
    Comment.objects.using(dev).create(content_type=product_type, object_id=product.pk, text="new")
    after = {model_label(m): m._base_manager.using(dev).count() for m in SHOP}
    assert after == {label: count + 1 for label, count in before.items()} | {
        "shop.Product": before["shop.Product"] + 2
    }


# Pulling parents ------------------------------------------------------------------------


def seed_orders(site):
    """Orders 41..44 of customers 1..4, oldest first; customer 5 has none.

    =====  ========  ====  ==========  ============
    order  customer  ship  bill        line, product
    =====  ========  ====  ==========  ============
    41     1         11    (none)      51, 31
    42     2         12    13          52, 32
    43     3         14    (none)      53, 33
    44     4         15    16          54, 34
    =====  ========  ====  ==========  ============

    Address 17 is nobody's.
    """
    make_customers(site, 1, 2, 3, 4, 5)
    make_addresses(site, 11, 12, 13, 14, 15, 16, 17)
    for pk in (31, 32, 33, 34):
        make_product(site, pk)
    for pk, customer, ship, bill in [
        (41, 1, 11, None),
        (42, 2, 12, 13),
        (43, 3, 14, None),
        (44, 4, 15, 16),
    ]:
        make_order(site, pk, customer, ship, bill, hour=pk)
        make_line(site, pk + 10, order=pk, product=pk - 10)


def latest_orders(**pull):
    return LatestSampleQuerySetStrategy(name="latest", count=2, order_by="-placed_at", **pull)


def test_pull_parents_brings_the_customers_and_shipping_addresses_of_sampled_orders(site):
    """Through non-null foreign keys only: an order whose billing address is not exported
    cannot be (PROTECT). Addresses are still to come when orders are written (the home
    address, and those the orders pull), so the billing address is checked at the end:
    the sample takes the latest two, and 44 is dropped then, with what it pulled in."""
    seed_orders(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "shop.Customer": [ExactQuerySetStrategy(name="one", pks=[1])],
            "shop.Address": [ExactQuerySetStrategy(name="home", pks=[11])],
            "shop.Order": [latest_orders(pull_parents=True)],
        }
    )

    site.roundtrip()

    assert [row["pk"] for row in site.exported("shop.Order")["latest"]] == [43]
    assert_taken(
        site,
        {
            "shop.Order": {43},
            "shop.Customer": {1, 3},  # 3 was not sampled: order 43 pulled it
            "shop.Address": {11, 14},  # 14 is 43's shipping address
            "shop.OrderLine": {53},
            "shop.Product": {33},
        },
    )


def test_pull_nullable_also_brings_the_billing_addresses(site):
    seed_orders(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "shop.Customer": [ExactQuerySetStrategy(name="one", pks=[1])],
            "shop.Address": [ExactQuerySetStrategy(name="home", pks=[11])],
            # As settings spell it before models load: a class name and its arguments.
            "shop.Order": [
                (
                    "LatestSampleQuerySetStrategy",
                    {
                        "name": "latest",
                        "count": 2,
                        "order_by": "-placed_at",
                        "pull_parents": True,
                        "pull_nullable": True,
                    },
                )
            ],
        }
    )

    site.roundtrip()

    assert [row["pk"] for row in site.exported("shop.Order")["latest"]] == [44, 43]
    assert_taken(
        site,
        {
            "shop.Order": {43, 44},
            "shop.Customer": {1, 3, 4},
            "shop.Address": {11, 14, 15, 16},  # 16 is 44's billing address
            "shop.OrderLine": {53, 54},
            "shop.Product": {33, 34},
        },
    )


def test_without_pull_parents_the_sample_keeps_to_exported_customers(site):
    """The behaviour of 1.x, for contrast: downward restriction only."""
    seed_orders(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "shop.Customer": [ExactQuerySetStrategy(name="some", pks=[1, 2])],
            "shop.Address": [QuerySetStrategy(name="all")],
            "shop.Order": [latest_orders()],
        }
    )

    site.roundtrip()

    assert_taken(
        site,
        {
            "shop.Order": {41, 42},
            "shop.Customer": {1, 2},
            "shop.OrderLine": {51, 52},
        },
    )


def test_pulled_rows_pull_their_own_parents(site):
    """Lines pull their orders and products; the orders they pulled pull their customers
    and addresses, through nullable keys too since the lines' strategy says so."""
    seed_orders(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "shop.Customer": [ExactQuerySetStrategy(name="one", pks=[1])],
            "shop.Address": [ExactQuerySetStrategy(name="home", pks=[11])],
            "shop.Order": [ExactQuerySetStrategy(name="first", pks=[41])],
            "shop.Product": [ExactQuerySetStrategy(name="featured", pks=[31])],
            "shop.OrderLine": [
                LatestSampleQuerySetStrategy(
                    name="latest", count=2, order_by="-pk", pull_parents=True, pull_nullable=True
                )
            ],
        }
    )

    site.roundtrip()

    assert_taken(
        site,
        {
            "shop.OrderLine": {53, 54},
            "shop.Order": {41, 43, 44},
            "shop.Product": {31, 33, 34},
            "shop.Customer": {1, 3, 4},
            "shop.Address": {11, 14, 15, 16},
        },
    )


def test_a_model_reached_only_by_pulling_takes_just_the_referenced_rows(site):
    """Only Order is configured. Customers and addresses have the default strategy but
    come only as the sampled orders reference them (billing addresses included: the
    default takes every row that exported rows reference)."""
    seed_orders(site)
    site.configure(DEVDATA_STRATEGIES={"shop.Order": [latest_orders(pull_parents=True)]})

    site.roundtrip()

    assert_taken(
        site,
        {
            "shop.Order": {43, 44},
            "shop.Customer": {3, 4},
            "shop.Address": {14, 15, 16},
            "shop.OrderLine": {53, 54},
            "shop.Product": {33, 34},
        },
    )


def test_pull_parents_is_accepted_by_every_queryset_strategy():
    strategies = [
        QuerySetStrategy(name="a", pull_parents=True, pull_nullable=True),
        ExactQuerySetStrategy(name="b", pks=[1], pull_parents=True),
        RandomSampleQuerySetStrategy(name="c", count=1, pull_parents=True, pull_nullable=False),
        LatestSampleQuerySetStrategy(name="d", count=1, pull_parents=True),
        ModelReverseRelationshipQuerySetStrategy(name="e", pull_parents=True),
        DeleteFirstQuerySetStrategy(name="f", pull_parents=True, pull_nullable=True),
    ]
    assert [(s.pull_parents, s.pull_nullable) for s in strategies] == [
        (True, True),
        (True, False),
        (True, False),
        (True, False),
        (True, False),
        (True, True),
    ]
    plain = QuerySetStrategy(name="e")
    assert (plain.pull_parents, plain.pull_nullable) == (False, False)


# Generic foreign keys ---------------------------------------------------------------------


def test_tags_and_comments_come_only_with_the_objects_they_are_on(site):
    """Even where they have strategies of their own: the generic relation restricts them."""
    seed_shop(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "shop.Customer": [ExactQuerySetStrategy(name="ann", pks=[1])],
            "shop.TaggedItem": [QuerySetStrategy(name="all")],
            "shop.Comment": [QuerySetStrategy(name="every")],
        }
    )

    site.roundtrip()

    # 71 on product 31, 73 on order 41, 76 on digital product 34; not 72 (product 32),
    # 74 (product 36), 75 (customer 2), 77 (digital product 35).
    assert_taken(
        site,
        {"shop.TaggedItem": {71, 73, 76}, "shop.Tag": {61, 63}, "shop.Comment": {81, 83}},
    )
    dev_tags = TaggedItem.objects.using(site.dev).order_by("pk")
    assert [(t.content_type.model, t.object_id, t.tag.name) for t in dev_tags] == [
        ("product", 31, "red"),
        ("order", 41, "green"),
        ("digitalproduct", 34, "green"),
    ]


# Multi-table inheritance and proxies --------------------------------------------------------


def seed_products(site):
    """Products 31 and 34 are plain, 32 and 33 digital; 31 shows image 21 and 33 image 22."""
    make_images(site, 21, 22)
    make_product(site, 31, image=21)
    make_product(site, 32, digital=True)
    make_product(site, 33, image=22, digital=True)
    make_product(site, 34)


def digital_values(alias):
    return set(
        DigitalProduct.objects.using(alias).values_list("pk", "name", "image", "download_url")
    )


def test_a_sample_of_parent_rows_brings_their_child_rows(site):
    seed_products(site)
    site.configure(
        DEVDATA_STRATEGIES={"shop.Product": [ExactQuerySetStrategy(name="some", pks=[31, 32])]}
    )

    site.roundtrip()

    assert_taken(site, {"shop.Product": {31, 32}, "shop.DigitalProduct": {32}, "shop.Image": {21}})
    assert digital_values(site.dev) == {(32, "product 32", None, "https://dl.example/32")}


def test_a_strategy_on_the_child_brings_the_parent_rows(site):
    """Digital product 33 comes with its product row, which Product's strategy did not take."""
    seed_products(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "shop.Product": [ExactQuerySetStrategy(name="plain", pks=[31])],
            "shop.DigitalProduct": [ExactQuerySetStrategy(name="one", pks=[33])],
        }
    )

    site.roundtrip()

    assert_taken(
        site, {"shop.Product": {31, 33}, "shop.DigitalProduct": {33}, "shop.Image": {21, 22}}
    )
    assert digital_values(site.dev) == {(33, "product 33", 22, "https://dl.example/33")}


def test_parent_and_child_rows_come_together_whichever_strategy_took_them(site):
    seed_products(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "shop.Product": [ExactQuerySetStrategy(name="some", pks=[31, 32])],
            "shop.DigitalProduct": [ExactQuerySetStrategy(name="featured", pks=[33])],
        }
    )

    site.roundtrip()

    assert_taken(
        site,
        {"shop.Product": {31, 32, 33}, "shop.DigitalProduct": {32, 33}, "shop.Image": {21, 22}},
    )
    assert digital_values(site.dev) == digital_values(site.src)


def test_a_proxy_shares_its_concrete_models_rows(site):
    VipCustomer.objects.using(site.src).create(pk=1, name="vip", email="vip@x.org")
    make_customers(site, 2)
    site.configure(DEVDATA_STRATEGIES={"shop.Customer": [QuerySetStrategy(name="all")]})

    site.roundtrip()

    assert not (site.export_dir / "shop.VipCustomer").exists()
    rows = [row["pk"] for rows in site.exported("shop.Customer").values() for row in rows]
    assert sorted(rows) == [1, 2]
    assert site.pks(VipCustomer) == {1, 2}


# Content types and permissions by natural key ---------------------------------------------


def permission(alias, codename):
    return Permission.objects.using(alias).get(codename=codename, content_type__app_label="shop")


def test_references_to_content_types_and_permissions_travel_as_natural_keys(site):
    src, dev = site.src, site.dev
    # Production's content type of Product and its permissions were made again at some
    # point, after a content type since gone: they have other ids than the dev
    # database's migrations give them.
    ContentType.objects.using(src).create(app_label="legacy", model="gone")
    ContentType.objects.using(src).filter(app_label="shop", model="product").delete()
    ContentType.objects.using(src).create(app_label="shop", model="product")
    ContentType.objects.clear_cache()
    create_permissions(apps.get_app_config("shop"), verbosity=0, using=src)
    product = make_product(site, 1)
    tag(site, 1, "red", Product, product.pk)
    comment(site, 1, Product, product.pk)
    user = User.objects.using(src).create(pk=1, username="u")
    group = Group.objects.using(src).create(pk=1, name="editors")
    user.groups.add(group)
    user.user_permissions.add(permission(src, "view_product"), permission(src, "change_order"))
    group.permissions.add(permission(src, "view_product"), permission(src, "delete_product"))
    site.configure(
        DEVDATA_STRATEGIES={
            "auth.User": [QuerySetStrategy(name="all")],
            "auth.Group": [QuerySetStrategy(name="all")],
            "shop.Product": [QuerySetStrategy(name="all")],
        }
    )

    site.roundtrip()

    # The ids differ between the databases: matching by id would point elsewhere.
    assert content_type(src, Product).pk != content_type(dev, Product).pk
    assert permission(src, "view_product").pk != permission(dev, "view_product").pk
    # The export names content types and permissions by natural key, and holds none.
    for label in ("shop.TaggedItem", "shop.Comment"):
        assert [r["fields"]["content_type"] for r in site.exported(label)["all"]] == [
            ["shop", "product"]
        ]
    assert sorted(
        r["fields"]["permission"] for r in site.exported("auth.User_user_permissions")["all"]
    ) == [
        ["change_order", "shop", "order"],
        ["view_product", "shop", "product"],
    ]
    assert sorted(
        r["fields"]["permission"] for r in site.exported("auth.Group_permissions")["all"]
    ) == [
        ["delete_product", "shop", "product"],
        ["view_product", "shop", "product"],
    ]
    assert site.exported_pks("contenttypes.ContentType") == set()
    assert site.exported_pks("auth.Permission") == set()
    # Imported rows point at the dev database's own content types and permissions.
    product_type = content_type(dev, Product)
    assert TaggedItem.objects.using(dev).get(pk=1).content_type_id == product_type.pk
    assert Comment.objects.using(dev).get(pk=1).content_type_id == product_type.pk
    assert set(
        User.objects.using(dev).get(pk=1).user_permissions.values_list("content_type", "codename")
    ) == {(content_type(dev, Order).pk, "change_order"), (product_type.pk, "view_product")}
    assert set(
        Group.objects.using(dev).get(pk=1).permissions.values_list("content_type", "codename")
    ) == {(product_type.pk, "delete_product"), (product_type.pk, "view_product")}
    # Which the dev database kept as its migrations made them.
    assert not ContentType.objects.using(dev).filter(app_label="legacy").exists()
    assert permission(dev, "view_product").content_type_id == product_type.pk


# devdata_export --plan ---------------------------------------------------------------------


def said(entry, phrase, relation):
    """Whether one line of a model's plan says ``phrase`` and, after it, ``relation``."""
    pattern = re.escape(phrase) + r".*(?<![\w.])" + re.escape(relation) + r"(?![\w])"
    return any(re.search(pattern, line) for line in entry.text.splitlines())


def test_plan_shows_order_strategies_relations_and_counts_and_writes_nothing(site):
    seed_shop(site)
    site.configure(
        DEVDATA_STRATEGIES={"shop.Customer": [ExactQuerySetStrategy(name="ann", pks=[1])]}
    )

    plan = site.plan()

    assert site.export_snapshot() is None, "--plan created the export directory"
    order = plan.order
    for model in SHOP:
        assert model_label(model) in plan, plan.text
    assert "shop.VipCustomer" not in plan
    assert order.index("shop.Customer") < order.index("shop.Order") < order.index("shop.OrderLine")
    assert plan.rows(*(model_label(m) for m in SHOP)) == {
        label: len(pks) for label, pks in belongings(1).items()
    }
    assert "ann" in plan["shop.Customer"].text
    assert re.search(r"\ball\b", plan["shop.Order"].text)
    assert said(plan["shop.Order"], "restricted by", "shop.Order.customer")
    assert said(plan["shop.OrderLine"], "restricted by", "shop.OrderLine.order")
    assert said(plan["shop.Product"], "pulled by", "shop.OrderLine.product")
    assert "reference-only" in plan["shop.Product"].text
    assert said(plan["shop.Address"], "pulled by", "shop.Order.shipping_address")
    assert said(plan["shop.Address"], "pulled by", "shop.Order.billing_address")
    assert "reference-only" in plan["shop.Address"].text
    assert said(plan["shop.Image"], "pulled by", "shop.Product.image")
    assert said(plan["shop.Tag"], "pulled by", "shop.TaggedItem.tag")
    assert said(plan["shop.TaggedItem"], "restricted by", "shop.TaggedItem.content_object")
    assert said(plan["shop.Comment"], "restricted by", "shop.Comment.content_object")
    assert "reference-only" not in plan["shop.Order"].text

    # The plan's counts are what the export then writes; a plan leaves an export alone.
    site.export()
    assert {label: len(pks) for label, pks in exported(site).items()} == plan.rows(
        *(model_label(m) for m in SHOP)
    )
    before = site.export_snapshot()
    site.plan()
    assert site.export_snapshot() == before


@pytest.mark.parametrize("pull_nullable", [False, True], ids=["non-null", "nullable"])
def test_plan_names_what_pull_parents_brings(site, pull_nullable):
    seed_orders(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "shop.Customer": [ExactQuerySetStrategy(name="one", pks=[1])],
            "shop.Address": [ExactQuerySetStrategy(name="home", pks=[11])],
            "shop.Order": [latest_orders(pull_parents=True, pull_nullable=pull_nullable)],
        }
    )

    plan = site.plan()

    assert site.export_snapshot() is None
    assert said(plan["shop.Customer"], "pulled by", "shop.Order.customer")
    assert said(plan["shop.Address"], "pulled by", "shop.Order.shipping_address")
    assert not said(plan["shop.Order"], "restricted by", "shop.Order.customer")
    assert not said(plan["shop.Order"], "restricted by", "shop.Order.shipping_address")
    if pull_nullable:
        assert said(plan["shop.Address"], "pulled by", "shop.Order.billing_address")
        assert not said(plan["shop.Order"], "restricted by", "shop.Order.billing_address")
        expected = {"shop.Order": 2, "shop.Customer": 3, "shop.Address": 4}
    else:
        assert not said(plan["shop.Address"], "pulled by", "shop.Order.billing_address")
        assert said(plan["shop.Order"], "restricted by", "shop.Order.billing_address")
        # 44's billing address is checked at the end: 44 is dropped, with what it pulled.
        expected = {"shop.Order": 1, "shop.Customer": 2, "shop.Address": 2}
    assert plan.rows(*expected) == expected
