"""Anonymised values per second, per Faker generator: the bound anonymisers alone.

    .venv/bin/python benchmarks/fakes.py [--values N] [GENERATOR ...]

For each generator, the time to fill its pool once, then the values per second of
``faker_anonymise(generator)`` bound to a ``CharField(max_length=200)`` (and, for
``email``, ``unique=True`` on an ``EmailField``) over N distinct originals (default
200,000), on one core. No database: this measures the anonymiser, not the export.
"""

from __future__ import annotations

import argparse
import sys
import time

import django
from django.conf import settings

settings.configure(SECRET_KEY="benchmark-only-not-a-secret", INSTALLED_APPS=[])
django.setup()

from django.db import models  # noqa: E402

from devdata_core.anonymisation.generators import Context  # noqa: E402
from devdata_core.anonymisers import faker_anonymise  # noqa: E402

GENERATORS = [
    "name",
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "street_address",
    "address",
    "postcode",
    "city",
    "company",
    "user_name",
    "ipv4",
    "ipv6",
    "date_of_birth",
    "text",
    "sentence",
    "paragraph",
]


class Person(models.Model):
    text = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    born = models.DateField()

    class Meta:
        app_label = "fakes_benchmark"


def measure(label: str, anonymiser, field: models.Field, originals: list[str]) -> None:
    context = Context.from_settings()
    started = time.perf_counter()
    bound = anonymiser.bind(field, context)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    for original in originals:
        bound(original, None)
    elapsed = time.perf_counter() - started
    print(f"| {label} | {filled * 1000:,.0f} | {len(originals) / elapsed:,.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("generators", nargs="*", default=GENERATORS)
    options = parser.parse_args()
    originals = [f"original-{n}@production.example" for n in range(options.values)]
    print(f"{options.values:,} distinct originals per generator\n")
    print("| anonymiser | pool ms | values/s |")
    print("| --- | ---: | ---: |")
    fields = {f.name: f for f in Person._meta.get_fields()}
    for generator in options.generators:
        field = fields["born"] if generator == "date_of_birth" else fields["text"]
        measure(generator, faker_anonymise(generator), field, originals)
    if "email" in options.generators:
        measure(
            "email, unique, EmailField",
            faker_anonymise("email", unique=True),
            fields["email"],
            originals,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
