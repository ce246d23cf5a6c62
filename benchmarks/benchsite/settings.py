"""Settings of the benchmark site.

``benchmarks/run.py`` sets, for every command it runs:

- ``DATABASE_URL``: the source database for exports, the target for imports;
- ``BENCH_CASE``: which devdata configuration to export with (below; default ``full``);
- ``BENCH_SCALE``: the scale N, which sizes the ``subset`` case's sample.
"""

import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from bench.shape import Shape
from devdata_core.anonymisers import faker_anonymise
from devdata_queryset import QuerySetStrategy, RandomSampleQuerySetStrategy

SECRET_KEY = "benchmark-only-not-a-secret"  # this site never serves requests
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "devdata_core",
    "bench",
]

DATABASES = {"default": dj_database_url.config(env="DATABASE_URL")}
if not DATABASES["default"]:
    raise ImproperlyConfigured("set DATABASE_URL; benchmarks/run.py does")

if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # MariaDB/MySQL through PyMySQL, which needs no C headers (see the top-level README).
    import pymysql

    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    DATABASES["default"]["OPTIONS"] = {"charset": "utf8mb4"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# --- devdata ---------------------------------------------------------------------------
BENCH_CASE = os.environ.get("BENCH_CASE", "full")

DEVDATA_DEFAULT_STRATEGY = QuerySetStrategy(name="all")

if BENCH_CASE == "anonymised":
    DEVDATA_MODEL_ANONYMISERS = {
        "bench.Customer": {
            "name": faker_anonymise("name"),
            "email": faker_anonymise("email", unique=True),
            "phone": faker_anonymise("phone_number", preserve_nulls=True),
        },
    }
elif BENCH_CASE == "subset":
    # 10% of the customers; their orders, lines and tag links follow under the default
    # strategy, restricted to them.
    try:
        _shape = Shape(int(os.environ["BENCH_SCALE"]))
    except (KeyError, ValueError) as error:
        raise ImproperlyConfigured(
            f"BENCH_CASE=subset needs a valid BENCH_SCALE ({error})"
        ) from None
    DEVDATA_STRATEGIES = {
        "bench.Customer": [
            # The customers who referred them come too (a nullable self-reference),
            # rather than the sampled customers they referred being dropped.
            RandomSampleQuerySetStrategy(
                name="sample",
                count=_shape.subset_customers,
                pull_parents=True,
                pull_nullable=True,
            )
        ],
    }
elif BENCH_CASE != "full":
    raise ImproperlyConfigured(
        f"BENCH_CASE={BENCH_CASE!r}: use one of 'full', 'anonymised', 'subset'"
    )
