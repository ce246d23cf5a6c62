"""Fakes are keyed and deterministic, unique without memory, and fit their columns."""

import ipaddress
import sys
from array import array
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.core.validators import validate_email

from devdata_core.anonymisation.generators import Context
from devdata_core.anonymisers import faker_anonymise
from testsite.contacts.models import Contact, Signup

pytestmark = pytest.mark.usefixtures("intact")

#: Longer than every column of Contact, so every fake has to be fitted.
LONG = "Production Person With A Very Long Name"


def make_contacts(site):
    """Contacts whose values fill their columns, and a sign-up of each with the same email."""
    for n in range(1, 21):
        email = f"person.{n}@prod.example"
        Contact.objects.using(site.src).create(
            pk=n,
            name=LONG[:12],
            email=email,
            phone=[None, ""][n % 2] if n <= 4 else f"+44 20 7946 {n:04}",
            last_ip="2001:db8::1" if n % 2 else "192.0.2.7",
            office_ip="198.51.100.9",
            born=date(1980, 1, n),
            balance=Decimal("123.45"),
        )
        Signup.objects.using(site.src).create(pk=n, email=email, list_name="weekly")
        User.objects.using(site.src).create(pk=n, username=f"login{n}", email=email)


def fields_of(site, label):
    return {row["pk"]: row["fields"] for rows in site.exported(label).values() for row in rows}


ANONYMISERS = {
    "email": faker_anonymise("email", unique=True),
    "name": faker_anonymise("name"),
    "phone": faker_anonymise("phone_number", preserve_nulls=True),
    "last_ip": faker_anonymise("ipv4"),
    "office_ip": faker_anonymise("ipv6"),
    "born": faker_anonymise("date_of_birth"),
    "balance": faker_anonymise("pydecimal", left_digits=6, right_digits=4),
}


def test_the_same_value_gets_the_same_fake_in_every_model(site):
    make_contacts(site)
    site.configure(
        DEVDATA_FIELD_ANONYMISERS={"email": ANONYMISERS["email"]},
        # A wrapper of the 1.x protocol gets the same fakes as the anonymiser it wraps.
        DEVDATA_MODEL_ANONYMISERS={
            "contacts.Signup": {"email": lambda **kwargs: ANONYMISERS["email"](**kwargs)}
        },
    )

    site.roundtrip()

    users, signups = fields_of(site, "auth.User"), fields_of(site, "contacts.Signup")
    assert {pk: u["email"] for pk, u in users.items()} == {
        pk: s["email"] for pk, s in signups.items()
    }
    assert len({u["email"] for u in users.values()}) == 20
    assert "prod.example" not in "".join(u["email"] for u in users.values())
    dev = dict(User.objects.using(site.dev).values_list("email", "pk"))
    assert dict(Signup.objects.using(site.dev).values_list("email", "pk")) == dev


def test_the_same_key_gives_the_same_export_and_another_key_other_fakes(site):
    make_contacts(site)
    site.configure(DEVDATA_MODEL_ANONYMISERS={"contacts.Contact": ANONYMISERS})

    site.export()
    first = (site.export_dir / "contacts.Contact" / "all.jsonl").read_bytes()
    site.export()
    assert (site.export_dir / "contacts.Contact" / "all.jsonl").read_bytes() == first
    site.configure(DEVDATA_ANONYMISATION_KEY="another key")
    before = {pk: c for pk, c in fields_of(site, "contacts.Contact").items()}
    site.roundtrip()

    after = fields_of(site, "contacts.Contact")
    assert all(after[pk]["email"] != before[pk]["email"] for pk in before)
    assert sum(after[pk]["name"] != before[pk]["name"] for pk in before) >= 15


def test_fakes_fit_their_columns_and_keep_nulls_and_blanks(site):
    make_contacts(site)
    site.configure(DEVDATA_MODEL_ANONYMISERS={"contacts.Contact": ANONYMISERS})

    site.roundtrip()

    contacts = fields_of(site, "contacts.Contact")
    for pk, contact in contacts.items():
        assert 0 < len(contact["name"]) <= 12 and contact["name"] != LONG[:12]
        assert len(contact["email"]) <= 30
        validate_email(contact["email"])
        # ipv4 fakes for an address field of both protocols: each keeps its family.
        original_family = 6 if pk % 2 else 4
        assert ipaddress.ip_address(contact["last_ip"]).version == original_family
        # ipv6 fakes for an IPv4-only field: IPv4 addresses.
        assert ipaddress.ip_address(contact["office_ip"]).version == 4
        assert date.fromisoformat(contact["born"]) != date(1980, 1, pk)
        assert abs(Decimal(contact["balance"])) < 1000
        assert Decimal(contact["balance"]).as_tuple().exponent == -2
    assert {pk: contacts[pk]["phone"] for pk in (1, 2, 3, 4)} == {
        1: "",
        2: None,
        3: "",
        4: None,
    }
    assert all(
        contacts[pk]["phone"] and "7946" not in contacts[pk]["phone"] for pk in contacts if pk > 4
    )
    dev = {c.pk: c for c in Contact.objects.using(site.dev)}
    assert {pk: c.email for pk, c in dev.items()} == {pk: c["email"] for pk, c in contacts.items()}
    for contact in dev.values():
        contact.full_clean(validate_unique=False)


def test_a_column_that_cannot_hold_unique_fakes_stops_the_export(site):
    make_contacts(site)
    site.configure(
        DEVDATA_MODEL_ANONYMISERS={
            "contacts.Contact": {"office_ip": faker_anonymise("ipv4", unique=True)}
        }
    )

    with pytest.raises(CommandError) as error:
        site.export()

    assert str(error.value).count("\n") == 0
    assert "contacts.Contact.office_ip" in str(error.value)
    assert "unique=True" in str(error.value)
    assert not (site.export_dir / "contacts.Contact").exists()


def test_a_unique_fake_stays_unique_over_a_million_values_in_flat_memory():
    field = Contact._meta.get_field("email")
    fake = faker_anonymise("email", unique=True).bind(field, Context.from_settings())
    count = 1_000_000
    hashes = array("q", bytes(8 * count))
    longest = 0

    fake("warm-up", None)
    blocks = sys.getallocatedblocks()
    for n in range(count):
        value = fake(f"person.{n}@production.example", None)
        hashes[n] = hash(value)
        longest = max(longest, len(value))
    # (tracemalloc would slow this test tenfold: the blocks Python holds tell as much.)
    kept = sys.getallocatedblocks() - blocks

    assert longest <= 30
    # A million values keep nothing: no set of values seen, however many there are.
    assert kept < 100, kept
    assert len(set(hashes)) == count
    validate_email(fake("person.1@production.example", None))
