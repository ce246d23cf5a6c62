"""Settings of a small django-oscar shop, for the end-to-end test of tests/test_oscar.py.

Oscar's apps as its documentation lists them (``oscar.INSTALLED_APPS``), Haystack's simple
backend, and devdata configured as an Oscar shop would: everything exported, the
personal fields that ``manage.py devdata_pii --settings-snippet`` found anonymised.
A project of its own, like ``wagtailsite``: Oscar's migrations would slow every other
test. Which databases a process uses is ``OSCARSITE_DATABASES``: the first is
``default``, the others keep their aliases (``<vendor>`` plays production,
``<vendor>_dev`` the developer's database).
"""

from oscar.defaults import *  # noqa: F403  (Oscar's documented first line)

# The same servers, run-unique names and temporary directory as the test site.
import testsite.settings  # noqa: F401
from devdata_core.anonymisers import faker_anonymise
from sitecommands.databases import media_root, site_databases

SECRET_KEY = "devdata tests only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ALLOWED_HOSTS = ["*"]
SITE_ID = 1
ROOT_URLCONF = "oscarsite.urls"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks",
    "haystack",
    "treebeard",
    "django_tables2",
    "oscarsite.shop",
    "devdata_core",
    "sitecommands",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
HAYSTACK_CONNECTIONS = {
    "default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"},
}

#: Every database this site can use (see sitecommands.databases).
ALL_DATABASES, DATABASES = site_databases("oscar")

STATIC_URL = "/static/"
MEDIA_ROOT = media_root("oscar")
MEDIA_URL = "/media/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, for tests

DEVDATA_DEFAULT_STRATEGY = ("devdata_queryset.QuerySetStrategy", {"name": "all"})
OSCAR_INITIAL_ORDER_STATUS = OSCAR_INITIAL_LINE_STATUS = "Pending"
OSCAR_ORDER_STATUS_PIPELINE = {
    "Pending": ("Being processed", "Cancelled"),
    "Being processed": ("Shipped", "Cancelled"),
    "Shipped": (),
    "Cancelled": (),
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# What ``manage.py devdata_pii --settings-snippet`` printed for the built shop, pasted as is.
DEVDATA_MODEL_ANONYMISERS = {
    "auth.User": {
        "username": faker_anonymise(
            "user_name", unique=True
        ),  # named like a user name ('username')
        "first_name": faker_anonymise("first_name"),  # named like a first name ('first_name')
        "last_name": faker_anonymise("last_name"),  # named like a last name ('last_name')
        "email": faker_anonymise("email"),  # an EmailField
    },
    "address.UserAddress": {
        "first_name": faker_anonymise("first_name"),  # named like a first name ('first_name')
        "last_name": faker_anonymise("last_name"),  # named like a last name ('last_name')
        "postcode": faker_anonymise("postcode"),  # named like a postcode ('postcode')
        "phone_number": faker_anonymise(
            "phone_number"
        ),  # named like a phone number ('phone_number')
    },
    "communication.Email": {
        "email": faker_anonymise("email", preserve_nulls=True),  # an EmailField
    },
    "customer.ProductAlert": {
        "email": faker_anonymise("email"),  # an EmailField
        "key": faker_anonymise("sha1"),  # named like a login secret ('key')
    },
    "order.BillingAddress": {
        "first_name": faker_anonymise("first_name"),  # named like a first name ('first_name')
        "last_name": faker_anonymise("last_name"),  # named like a last name ('last_name')
        "postcode": faker_anonymise("postcode"),  # named like a postcode ('postcode')
    },
    "order.ShippingAddress": {
        "first_name": faker_anonymise("first_name"),  # named like a first name ('first_name')
        "last_name": faker_anonymise("last_name"),  # named like a last name ('last_name')
        "postcode": faker_anonymise("postcode"),  # named like a postcode ('postcode')
        "phone_number": faker_anonymise(
            "phone_number"
        ),  # named like a phone number ('phone_number')
    },
    "partner.PartnerAddress": {
        "first_name": faker_anonymise("first_name"),  # named like a first name ('first_name')
        "last_name": faker_anonymise("last_name"),  # named like a last name ('last_name')
        "postcode": faker_anonymise("postcode"),  # named like a postcode ('postcode')
    },
    "reviews.ProductReview": {
        "email": faker_anonymise("email"),  # an EmailField
        "homepage": faker_anonymise("url"),  # a URLField (a personal page, or a link with a token)
    },
    "order.Order": {
        "guest_email": faker_anonymise("email"),  # an EmailField
    },
    "wishlists.WishList": {
        "key": faker_anonymise("sha1"),  # named like a login secret ('key')
    },
    "wishlists.WishListSharedEmail": {
        "email": faker_anonymise("email"),  # an EmailField
    },
}

# Found by their verbose names ("First line of address"), or not found though Oscar's
# addresses hold them: the city (line4) and county, a delivery note.
_ADDRESS = {
    "line1": faker_anonymise("street_address"),
    "line2": faker_anonymise("secondary_address"),
    "line3": faker_anonymise("street_address"),
    "line4": faker_anonymise("city"),
    "state": faker_anonymise("state"),
    "search_text": faker_anonymise("text"),
}
for _label in ("address.UserAddress", "order.ShippingAddress", "order.BillingAddress",
               "partner.PartnerAddress"):  # fmt: skip
    DEVDATA_MODEL_ANONYMISERS[_label].update(_ADDRESS)
# A hash of the address: the address as good as, for whoever can hash candidates.
DEVDATA_MODEL_ANONYMISERS["address.UserAddress"]["hash"] = faker_anonymise("sha1", unique=True)
for _label in ("address.UserAddress", "order.ShippingAddress"):
    DEVDATA_MODEL_ANONYMISERS[_label]["notes"] = faker_anonymise("sentence")
    # What it suggested for these PhoneNumberFields, Faker's "phone_number", makes numbers
    # such as "(335) 211-8270 ext. 987" that django-phonenumber-field cannot read back:
    # numbers in the shop's format instead, from the range kept for drama (020 7946 0xxx).
    DEVDATA_MODEL_ANONYMISERS[_label]["phone_number"] = faker_anonymise(
        "numerify", text="+442079460###"
    )
# Found by the export's leak audit: the emails Oscar sent (a product alert's
# confirmation) greet the customer by name.
DEVDATA_MODEL_ANONYMISERS["communication.Email"].update(
    {field: faker_anonymise("text") for field in ("body_text", "body_html")}
)
