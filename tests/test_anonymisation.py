"""Personal values are replaced on the way out, and never reach the export files."""

from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import User

from devdata_core.anonymisers import (
    const,
    faker_anonymise,
    preserve_internal,
    random_foreign_key,
)
from devdata_queryset import ExactQuerySetStrategy
from testsite.fidelity.models import Owner, Pet, Record
from testsite.library.models import Author, Book, Edition
from testsite.photofeed.models import Photo

pytestmark = pytest.mark.usefixtures("intact")

NOON = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def make_users(site):
    """A staff member and two customers, with values nobody outside production may see."""
    return {
        pk: User.objects.using(site.src).create(
            pk=pk,
            username=f"secret-login-{pk}",
            email=f"secret.person.{pk}@production.example",
            first_name=f"Secretname{pk}",
            last_name=f"Secretsurname{pk}",
            is_staff=pk == 1,
        )
        for pk in (1, 2, 3)
    }


def export_text(site):
    return "".join(path.read_text() for path in site.export_dir.rglob("*.jsonl"))


def exported_users(site):
    return {
        row["pk"]: row["fields"] for rows in site.exported("auth.User").values() for row in rows
    }


def test_field_and_model_anonymisers_replace_personal_values(site):
    make_users(site)
    site.configure(
        DEVDATA_FIELD_ANONYMISERS={
            "first_name": ("faker", {"generator": "first_name"}),
            "last_name": const("Doe"),
            # auth.User has its own anonymiser for email, which wins.
            "email": const("field@example.com"),
        },
        DEVDATA_MODEL_ANONYMISERS={
            "auth.User": {
                "email": preserve_internal(faker_anonymise("email", unique=True)),
                "username": preserve_internal(faker_anonymise("user_name", unique=True)),
            },
        },
    )

    site.roundtrip()

    users = exported_users(site)
    assert (users[1]["email"], users[1]["username"]) == (
        "secret.person.1@production.example",
        "secret-login-1",
    )
    customers = [users[2], users[3]]
    assert all("@" in u["email"] and u["email"] != "field@example.com" for u in customers)
    assert customers[0]["email"] != customers[1]["email"]
    assert {u["last_name"] for u in users.values()} == {"Doe"}
    assert all(u["first_name"] and not u["first_name"].startswith("Secret") for u in users.values())
    text = export_text(site)
    for pk in (2, 3):
        for secret in (f"secret-login-{pk}", f"secret.person.{pk}", f"Secretname{pk}"):
            assert secret not in text
    assert "Secretsurname1" not in text
    arrived = {u.pk: (u.username, u.email) for u in User.objects.using(site.dev)}
    assert arrived == {pk: (u["username"], u["email"]) for pk, u in users.items()}


def test_a_unique_anonymiser_never_repeats_a_value(site):
    author = Author.objects.using(site.src).create(name="a")
    book = Book.objects.using(site.src).create(title="b", author=author)
    for n in range(20):
        Edition.objects.using(site.src).create(book=book, isbn=f"production-isbn-{n}")
    site.configure(
        DEVDATA_FIELD_ANONYMISERS={
            # Twenty values for twenty rows: the drawn numbers repeat, their tags do not.
            "isbn": ("faker", {"generator": "random_int", "min": 1, "max": 20, "unique": True}),
        }
    )

    site.roundtrip()

    isbns = [row["fields"]["isbn"] for row in site.exported("library.Edition")["all"]]
    assert len(set(isbns)) == 20
    assert all(len(isbn) <= 20 and 1 <= int(isbn.split("-")[0]) <= 20 for isbn in isbns), isbns
    assert "production-isbn" not in export_text(site)
    assert set(Edition.objects.using(site.dev).values_list("isbn", flat=True)) == set(isbns)


def test_preserve_nulls_keeps_a_missing_value_missing(site):
    values = dict(
        happened_at=NOON, day=NOON.date(), amount=1, payload={}, blob=b"", duration=NOON - NOON
    )
    for pk, notes in [(1, None), (2, "production notes")]:
        Record.objects.using(site.src).create(pk=pk, ratio=1.0, notes=notes, **values)
    site.configure(
        DEVDATA_MODEL_ANONYMISERS={
            "fidelity.Record": {
                "notes": faker_anonymise("sentence", preserve_nulls=True),
                "ratio": const(0.5, preserve_nulls=True),
            }
        }
    )

    site.roundtrip()

    notes = {row["pk"]: row["fields"]["notes"] for row in site.exported("fidelity.Record")["all"]}
    assert notes[1] is None
    assert notes[2] and notes[2] != "production notes"
    assert set(Record.objects.using(site.dev).values_list("ratio", flat=True)) == {0.5}


def test_random_foreign_key_points_the_same_row_at_the_same_exported_row(site):
    for pk in range(1, 12):
        User.objects.using(site.src).create(pk=pk, username=f"u{pk}")
    for n in range(30):
        Photo.objects.using(site.src).create(user_id=n % 10 + 1, taken_at=NOON)
    originals = dict(Photo.objects.using(site.src).values_list("pk", "user"))
    site.configure(
        DEVDATA_STRATEGIES={"auth.User": [ExactQuerySetStrategy(name="some", pks=range(1, 11))]},
        DEVDATA_MODEL_ANONYMISERS={"photofeed.Photo": {"user": ("random_foreign_key", {})}},
    )

    site.roundtrip()

    owners = {row["pk"]: row["fields"]["user"] for row in site.exported("photofeed.Photo")["all"]}
    assert set(owners.values()) <= set(range(1, 11))
    # The photos of one user all go to one exported user, chosen by the keyed hash.
    by_original = {
        originals[pk]: {o for p, o in owners.items() if originals[p] == originals[pk]}
        for pk in owners
    }
    assert all(len(new) == 1 for new in by_original.values()), by_original
    assert any(new != {original} for original, new in by_original.items())
    assert dict(Photo.objects.using(site.dev).values_list("pk", "user")) == owners
    site.export()
    again = {row["pk"]: row["fields"]["user"] for row in site.exported("photofeed.Photo")["all"]}
    assert again == owners


def test_random_foreign_key_follows_to_field(site):
    owners = [Owner.objects.using(site.src).create(code=f"c{n}") for n in (1, 2, 3)]
    for n in range(20):
        Pet.objects.using(site.src).create(name=f"pet{n}", owner=owners[0], vet=owners[n % 2])
    site.configure(
        DEVDATA_STRATEGIES={
            "fidelity.Owner": [ExactQuerySetStrategy(name="some", pks=[o.pk for o in owners[:2]])]
        },
        DEVDATA_MODEL_ANONYMISERS={"fidelity.Pet": {"vet": random_foreign_key}},
    )

    site.roundtrip()

    vets = {row["pk"]: row["fields"]["vet"] for row in site.exported("fidelity.Pet")["all"]}
    assert set(vets.values()) <= {"c1", "c2"}
    # Pets of one vet keep sharing one.
    assert len({vets[f"pet{n}"] for n in range(0, 20, 2)}) == 1
    assert len({vets[f"pet{n}"] for n in range(1, 20, 2)}) == 1
    assert dict(Pet.objects.using(site.dev).values_list("name", "vet")) == vets


def test_references_are_checked_on_the_values_before_anonymisation(site):
    for pk in (1, 2):
        User.objects.using(site.src).create(pk=pk, username=f"u{pk}")
    Photo.objects.using(site.src).create(user_id=1, taken_at=NOON)
    site.configure(
        DEVDATA_STRATEGIES={"auth.User": [ExactQuerySetStrategy(name="some", pks=[2])]},
        DEVDATA_MODEL_ANONYMISERS={"photofeed.Photo": {"user": random_foreign_key}},
    )

    site.roundtrip()

    # The photo of user 1 is not exported, although its anonymised user would be.
    assert site.exported("photofeed.Photo") == {"all": []}


def test_a_strategy_can_opt_out_of_anonymisation(site):
    make_users(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "auth.User": [
                ExactQuerySetStrategy(name="fixture_user", pks=[2], anonymise=False),
                ExactQuerySetStrategy(name="others", pks=[1, 3]),
            ]
        },
        DEVDATA_FIELD_ANONYMISERS={"email": const("anonymous@example.com")},
    )

    site.roundtrip()

    emails = dict(User.objects.using(site.dev).values_list("pk", "email"))
    assert emails == {
        1: "anonymous@example.com",
        2: "secret.person.2@production.example",
        3: "anonymous@example.com",
    }


def test_faker_locales_choose_the_fake_values_language(site):
    make_users(site)
    site.configure(
        DEVDATA_FIELD_ANONYMISERS={"first_name": faker_anonymise("first_name")},
        DEVDATA_FAKER_LOCALES=["ja_JP"],
    )

    site.roundtrip()

    names = [u["first_name"] for u in exported_users(site).values()]
    assert len(names) == 3
    assert all(not name.isascii() for name in names), names
