"""The leak audit: values anonymised in one column and copied, as they were, into another."""

import json
from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import User
from django.core.management.base import CommandError

from devdata_core import manifest
from devdata_core.anonymisation.keyed import anonymisation_key, key_id
from devdata_core.anonymisers import const, keep
from testsite.leaks.models import Profile
from testsite.polls.models import Question
from testsite.shop.models import Customer, Tag

pytestmark = pytest.mark.usefixtures("intact")

NOON = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)

#: auth.User's names replaced; the copies in leaks.Profile left as they are.
NAMES_ANONYMISED = {"auth.User": {"first_name": const("Anon"), "last_name": const("Anon")}}


def make_profiles(site, users=3):
    """Users whose profiles copy their first name into a longer text and into JSON."""
    for pk in range(1, users + 1):
        user = User.objects.using(site.src).create(
            pk=pk, username=f"user{pk}", first_name=f"Secretname{pk}", last_name=f"Surname{pk}"
        )
        Profile.objects.using(site.src).create(
            user=user,
            search_text=f"Secretname{pk} likes gardening",
            data={"contact": {"greeting": f"Dear Secretname{pk},"}, "tags": ["vip"]},
            # A choice that happens to spell a name is no copy.
            plan="paid",
        )


def warnings(output):
    return [line for line in output.stderr.splitlines() if line.startswith("Warning: audit:")]


def recorded(site):
    return json.loads((site.export_dir / "manifest.json").read_text())["anonymisation"]


def test_the_audit_finds_a_first_name_copied_into_a_text_and_into_json(site):
    make_profiles(site)
    site.configure(DEVDATA_MODEL_ANONYMISERS=NAMES_ANONYMISED)

    output = site.export()

    assert warnings(output) == [
        "Warning: audit: leaks.Profile.data holds values anonymised in auth.User.first_name "
        "in 3 rows",
        "Warning: audit: leaks.Profile.search_text holds values anonymised in "
        "auth.User.first_name in 3 rows",
    ]
    audit = recorded(site)["audit"]
    assert audit["columns"] > 2
    assert audit == {
        "status": "findings",
        "terms": 6,  # three first names and three last names
        "columns": audit["columns"],
        "findings": [
            {"column": "leaks.Profile.data", "sources": ["auth.User.first_name"], "rows": 3},
            {
                "column": "leaks.Profile.search_text",
                "sources": ["auth.User.first_name"],
                "rows": 3,
            },
        ],
    }
    # Without strict mode a leak is a warning: the export is complete and imports.
    site.import_()
    assert set(Profile.objects.using(site.dev).values_list("search_text", flat=True)) == {
        f"Secretname{pk} likes gardening" for pk in (1, 2, 3)
    }


def test_the_audit_names_every_field_a_column_copies(site):
    make_profiles(site, users=2)
    Profile.objects.using(site.src).filter(user_id=1).update(search_text="Surname1, Secretname1")
    site.configure(DEVDATA_MODEL_ANONYMISERS=NAMES_ANONYMISED)

    output = site.export()

    assert (
        "Warning: audit: leaks.Profile.search_text holds values anonymised in "
        "auth.User.first_name/last_name in 2 rows"
    ) in warnings(output)


def test_the_audit_finds_nothing_when_every_copy_is_anonymised(site):
    make_profiles(site)
    # A name shorter than four letters is not looked for: too many words are that short.
    User.objects.using(site.src).filter(pk=1).update(first_name="Leo")
    Profile.objects.using(site.src).create(user_id=1, search_text="Leo", data=["Leo"])
    site.configure(
        DEVDATA_MODEL_ANONYMISERS={
            **NAMES_ANONYMISED,
            "leaks.Profile": {"search_text": const(""), "data": const({})},
        }
    )

    output = site.export()

    assert warnings(output) == []
    audit = recorded(site)["audit"]
    assert (audit["status"], audit["findings"]) == ("clean", [])
    assert audit["terms"] > 0


def test_a_column_kept_on_purpose_is_not_audited(site):
    make_profiles(site)
    site.configure(
        DEVDATA_MODEL_ANONYMISERS={
            **NAMES_ANONYMISED,
            "leaks.Profile": {"search_text": keep(), "data": keep()},
        }
    )

    output = site.export()

    assert warnings(output) == []
    assert recorded(site)["audit"]["status"] == "clean"


def test_strict_mode_fails_the_export_and_leaves_the_previous_one(site):
    make_profiles(site)
    site.configure(DEVDATA_MODEL_ANONYMISERS=NAMES_ANONYMISED)
    site.export("auth.User", "leaks.Profile")
    before = site.export_snapshot()
    User.objects.using(site.src).create(pk=9, username="new", first_name="Newcomer")
    site.configure(DEVDATA_PII_STRICT=True)

    with pytest.raises(CommandError) as error:
        site.export("auth.User", "leaks.Profile")

    message = str(error.value)
    assert message == (
        "audit: leaks.Profile.data holds values anonymised in auth.User.first_name in 3 rows "
        "(and 1 more columns): anonymise the column, or keep() it if it holds these values on "
        "purpose (DEVDATA_PII_STRICT is on); the previous export was left as it was"
    )
    assert site.export_snapshot() == before
    assert sorted(p.name for p in site.export_dir.parent.iterdir() if "staging" in p.name) == []


@pytest.mark.databases_only("sqlite")
def test_strict_mode_fails_the_command_with_one_line(site):
    make_profiles(site, users=1)

    result = site.cli(
        "devdata_export", str(site.export_dir), "auth.User", "leaks.Profile",
        "--settings", "testsite.settings_leaky",
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "DevdataError: audit: leaks.Profile.data holds values anonymised in "
        "auth.User.first_name in 1 row (and 1 more columns): anonymise the column, or keep() it "
        "if it holds these values on purpose (DEVDATA_PII_STRICT is on); the previous export "
        "was left as it was"
    )
    assert "Traceback" not in result.stderr
    assert not site.export_dir.exists()


def test_the_manifest_records_what_was_anonymised_and_the_key_id(site):
    make_profiles(site, users=1)
    site.configure(
        DEVDATA_MODEL_ANONYMISERS={**NAMES_ANONYMISED, "leaks.Profile": {"data": keep()}},
        DEVDATA_ANONYMISATION_KEY="a test key",
    )

    site.export()

    record = recorded(site)
    assert record["key_id"] == key_id(anonymisation_key())
    assert record["fields"]["auth.User"] == {
        "first_name": "devdata_core.anonymisers.const",
        "last_name": "devdata_core.anonymisers.const",
        "password": "devdata_core.anonymisation.credentials.PasswordReplacement",
    }
    assert record["fields"]["leaks.Profile"] == {"data": "keep"}
    text = (site.export_dir / "manifest.json").read_text()
    assert "a test key" not in text and anonymisation_key().hex() not in text


def test_the_audit_can_be_turned_off(site):
    make_profiles(site)
    site.configure(DEVDATA_MODEL_ANONYMISERS=NAMES_ANONYMISED, DEVDATA_AUDIT=False)

    output = site.export()

    assert warnings(output) == []
    assert recorded(site)["audit"] == {"status": "off"}


def test_an_export_whose_manifest_predates_the_record_imports(site):
    make_profiles(site, users=1)
    site.export()
    path = site.export_dir / "manifest.json"
    data = json.loads(path.read_text())
    del data["anonymisation"]
    path.write_text(json.dumps(data))

    assert manifest.read(site.export_dir).anonymisation is None
    site.import_()
    assert site.pks(Profile) == site.pks(Profile, "src")


def test_the_audit_finds_a_copy_among_escaped_characters(site):
    make_profiles(site, users=2)
    for pk, text in [
        (1, 'Ask "Secretname1"\n\\ about\tit'),
        (2, "Nothing personal here"),
        (3, "Zoë Secretname2 — ☃"),
    ]:
        Question.objects.using(site.src).create(pk=pk, question_text=text, pub_date=NOON)
    site.configure(DEVDATA_MODEL_ANONYMISERS=NAMES_ANONYMISED)

    output = site.export()

    assert (
        "Warning: audit: polls.Question.question_text holds values anonymised in "
        "auth.User.first_name in 2 rows"
    ) in warnings(output)


def test_a_part_of_a_full_name_counts_only_beside_another(site):
    Customer.objects.using(site.src).create(name="Summer Secretsurname", email="c@example.com")
    Tag.objects.using(site.src).create(name="summer")
    user = User.objects.using(site.src).create(username="someone")
    for text in ["Summer sale", "Secretsurname, Summer"]:
        Profile.objects.using(site.src).create(user=user, search_text=text)
    site.configure(DEVDATA_MODEL_ANONYMISERS={"shop.Customer": {"name": const("Anon")}})

    output = site.export()

    assert warnings(output) == [
        "Warning: audit: leaks.Profile.search_text holds values anonymised in "
        "shop.Customer.name in 1 row"
    ]
