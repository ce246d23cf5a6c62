"""Settings for the devdata demo site.

The database comes from ``DATABASE_URL`` (default: a SQLite "production" file under
``demo/var/``); ``demo/run.py`` points the same settings at the dev database for the import.
"""

from pathlib import Path

import dj_database_url

from devdata_core.anonymisers import const, faker_anonymise, preserve_internal
from devdata_factory import FactoryStrategy
from devdata_queryset import (
    ExactQuerySetStrategy,
    QuerySetStrategy,
    RandomSampleQuerySetStrategy,
)

DEMO_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = DEMO_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

SECRET_KEY = "demo-only-not-a-secret"  # this site never serves requests
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "devdata_core",
    "shop",
]

ROOT_URLCONF = "demosite.urls"

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'production.sqlite3'}",
    ),
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # MariaDB/MySQL through PyMySQL, which needs no C headers (see the README).
    import pymysql

    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    DATABASES["default"]["OPTIONS"] = {"charset": "utf8mb4"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-gb"

# --- devdata ---------------------------------------------------------------------------
DEVDATA_FAKER_LOCALES = ["en_GB"]
# As in CI: a field that looks personal and has no anonymiser (nor keep()) stops the export.
DEVDATA_PII_STRICT = True

DEVDATA_DEFAULT_STRATEGY = QuerySetStrategy(name="all")

DEVDATA_STRATEGIES = {
    # Staff and ex-staff accounts only; preserve_internal below anonymises the ex-staff.
    "auth.User": [QuerySetStrategy(name="all")],
    # A sample of customers, with the customers who referred them (a nullable
    # self-reference) pulled in rather than the sampled customers dropped.
    "shop.Customer": [
        RandomSampleQuerySetStrategy(
            name="random_customers", count=300, pull_parents=True, pull_nullable=True
        ),
        # The hand-made customers 1-3 cover the awkward cases; always bring them.
        ExactQuerySetStrategy(name="edge_cases", pks=[1, 2, 3]),
    ],
    # Production holds no reviews (the feature is new): the import generates 50, by
    # customers and of products that came across (demo/shop/factories.py). The seed makes
    # every import generate the same ones.
    "shop.Review": [
        FactoryStrategy(name="generated", factories=[("shop.factories.ReviewFactory", 50)], seed=1),
    ],
}
# Everything else follows the customers under the default strategy: their addresses and
# orders (restricted by the customer foreign keys), the orders' lines, and — as they are
# referenced only by those — just the products those lines point at.

DEVDATA_FIELD_ANONYMISERS = {
    "email": faker_anonymise("email", unique=True),
    "phone": faker_anonymise("phone_number", preserve_nulls=True),
}

DEVDATA_MODEL_ANONYMISERS = {
    "shop.Customer": {"name": faker_anonymise("name")},
    "shop.Address": {
        "line1": faker_anonymise("street_address"),
        # Towns named like people (Charlotte, Victoria) would be the leak audit's findings.
        "city": faker_anonymise("city"),
        "postcode": faker_anonymise("postcode"),
    },
    "auth.User": {
        # Staff keep their own details so they can log in as themselves; ex-staff do not.
        "username": preserve_internal(faker_anonymise("user_name", unique=True)),
        "first_name": preserve_internal(faker_anonymise("first_name")),
        "last_name": preserve_internal(faker_anonymise("last_name")),
        "email": preserve_internal(faker_anonymise("email", unique=True)),
        "password": preserve_internal(const("!")),
    },
}
