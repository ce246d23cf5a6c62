"""Knowing what is personal, and keeping credentials out of the export.

The CRM of the test site holds fields that look personal by type (``login``, an
``EmailField``), by name (``vorname``, ``date_of_birth``) and, sometimes, only by what
they hold (``notes``); API tokens are keyed by their secret.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.hashers import check_password, is_password_usable
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import checks
from django.core.management import call_command
from django.db import models
from django.utils import timezone
from test_export_files import snapshot

from devdata_core import hookimpl
from devdata_core.anonymisation.detection import NameDetector, personal_names, suggest
from devdata_core.anonymisers import const, keep
from devdata_core.checks import check_personal_fields
from devdata_core.errors import ConfigError, DevdataError
from devdata_core.settings import candidate_models, model_label
from devdata_queryset import ExactQuerySetStrategy, QuerySetStrategy
from sitetools import Site
from testsite.crm.models import Agent, ApiToken, Contact

pytestmark = pytest.mark.usefixtures("intact")

#: Fast hashing for the tests' own passwords; real projects keep Django's default.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
#: The fields of the CRM that look personal, with why, before any is anonymised (the
#: test site has more elsewhere: the tests look at the CRM's).
FOUND = {
    "crm.Contact.login": "an EmailField",
    "crm.Contact.vorname": "named like a first name ('vorname')",
    "crm.Contact.date_of_birth": "named like a birth date ('date_of_birth')",
    "crm.ApiToken.key": "named like a login secret ('key')",
}


def make_contacts(site: Site, notes: str = "Prefers calls in the morning") -> None:
    for pk in (1, 2):
        contact = Contact.objects.using(site.src).create(
            pk=pk,
            login=f"person{pk}@production.example",
            vorname=f"Geheim{pk}",
            date_of_birth=datetime.date(1980, 1, pk),
            notes=notes if pk == 2 else "",
        )
        ApiToken.objects.using(site.src).create(key=f"production-token-{pk}", contact=contact)


def crm_only(site: Site, **strategies: list) -> None:
    """Export the CRM alone (and the ``strategies`` by label), so that the check looks at
    it alone, with its warning on."""
    site.configure(
        SILENCED_SYSTEM_CHECKS=[],
        DEVDATA_STRATEGIES={
            **{model_label(m): [] for m in candidate_models() if m._meta.app_label != "crm"},
            **strategies,
        },
    )


def warnings(stderr: str) -> dict[str, str]:
    """The personal fields an export warned of, with why."""
    return dict(re.findall(r"^Warning: (\S+) looks personal \((.*?)\); ", stderr, re.M))


def test_an_export_warns_of_every_field_that_looks_personal_by_type_name_or_value(site):
    make_contacts(site)
    crm_only(site)

    quiet = site.export()

    assert warnings(quiet.stderr) == FOUND
    assert (
        "Warning: crm.Contact.login looks personal (an EmailField); anonymise it, e.g. "
        'faker_anonymise("email", unique=True), or mark it keep()\n' in quiet.stderr
    )
    assert (
        "Warning: crm.ApiToken.key looks personal (named like a login secret ('key')); "
        "leave the model out: DEVDATA_STRATEGIES['crm.ApiToken'] = []\n" in quiet.stderr
    )
    # Warnings only: the export is made.
    assert site.exported_pks("crm.Contact") == {1, 2}

    Contact.objects.using(site.src).filter(pk=2).update(
        notes="Call back on +44 20 7946 0958, or write to jo@example.org"
    )

    found = warnings(site.export().stderr)

    assert found == {**FOUND, "crm.Contact.notes": "holds emails in 1 of 1 sampled values"}


def test_keep_and_anonymisers_silence_the_check(site):
    make_contacts(site, notes="write to jo@example.org")
    crm_only(site, **{"crm.ApiToken": []})
    site.configure(
        DEVDATA_FIELD_ANONYMISERS={"login": keep()},
        DEVDATA_MODEL_ANONYMISERS={"crm.Contact": {"notes": const("")}},
    )

    output = site.export()

    assert warnings(output.stderr) == {
        "crm.Contact.vorname": FOUND["crm.Contact.vorname"],
        "crm.Contact.date_of_birth": FOUND["crm.Contact.date_of_birth"],
    }


def test_the_dictionary_of_names_grows_with_a_setting(site):
    make_contacts(site)
    crm_only(site)
    site.configure(DEVDATA_PII_NAMES={"paragraph": ["notes"], "word": ["status"]})

    found = pii_table(site)

    assert found == {**FOUND, "crm.Contact.notes": "named like paragraph data ('notes')"}
    # A field with choices holds the project's own words, whatever its name.
    assert "crm.Contact.status" not in found
    site.configure(DEVDATA_PII_NAMES={"paragraph": "notes"})
    with pytest.raises(DevdataError, match=r"DEVDATA_PII_NAMES\['paragraph'\]: expected a list"):
        site.export()


def test_a_plugin_adds_detectors(site):
    make_contacts(site)
    crm_only(site)
    site.configure(DEVDATA_PLUGINS=["testsite.pii_hooks"])

    found = warnings(site.export().stderr)

    assert found == {**FOUND, "crm.Contact.notes": "staff write about contacts here"}


@pytest.mark.parametrize(
    ("field", "generator", "suggested"),
    [
        (models.EmailField(unique=True), "email", 'faker_anonymise("email", unique=True)'),
        (
            models.CharField(max_length=40, unique=True),
            "user_name",
            'faker_anonymise("user_name", unique=True)',
        ),
        # Too short for a unique tag, or no text to carry one: a suggestion that would
        # stop the export is no suggestion.
        (models.CharField(max_length=8, unique=True), "user_name", 'faker_anonymise("user_name")'),
        (models.EmailField(max_length=20, unique=True), "email", 'faker_anonymise("email")'),
        (
            models.GenericIPAddressField(unique=True, null=True),
            "ipv4",
            'faker_anonymise("ipv4", preserve_nulls=True)',
        ),
    ],
)
def test_suggestions_are_anonymisers_the_field_can_take(field, generator, suggested):
    assert suggest(field, generator) == suggested


def named(name, field):
    field.set_attributes_from_name(name)
    return field


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("mobile", "named like a phone number ('mobile')"),
        ("customer_email", "named like an email address ('customer_email')"),
        ("mobile_app_version", None),
        ("email_type", None),
        ("phone_status", None),
    ],
)
def test_a_name_that_describes_a_personal_value_is_not_one(name, found):
    detect = NameDetector(personal_names())

    suspicion = detect(named(name, models.CharField(max_length=40)))

    assert (suspicion and suspicion.why) == found


@pytest.mark.parametrize(
    ("name", "verbose_name", "found"),
    [
        # django-oscar's address lines
        ("line1", "First line of address", "a postal address ('First line of address')"),
        ("search_text", "Searched addresses", "a postal address ('Searched addresses')"),
        ("line4", "City", None),
        ("verified", "Phone verified", None),
    ],
)  # fmt: skip
def test_a_verbose_name_says_what_a_field_holds_where_its_name_does_not(name, verbose_name, found):
    detect = NameDetector(personal_names())

    suspicion = detect(named(name, models.TextField(verbose_name=verbose_name)))

    assert (suspicion and suspicion.why) == (found and f"described as {found}")


@pytest.mark.databases_only("sqlite")
def test_a_fault_of_devdata_is_a_warning_for_other_commands(site, devdata_plugin):
    """``migrate`` on a deploy runs the system checks too: devdata must not stop it."""

    class Broken:
        @hookimpl
        def devdata_pii_detectors(self):
            raise RuntimeError("detector out of order")

    devdata_plugin(Broken(), name="broken")

    [message] = check_personal_fields()

    assert (message.level, message.id) == (checks.WARNING, "devdata.W002")
    assert "detector out of order" in message.msg and "\n" not in message.msg
    site.configure(DEVDATA_STRATEGIES={"crm.Nothing": []})
    [message] = check_personal_fields()
    assert message.id == "devdata.W002" and "'crm.Nothing' is not an installed model" in message.msg


def test_strict_mode_stops_the_export_before_it_reads_a_row(site):
    make_contacts(site)
    site.export()
    before = snapshot(site.export_dir)
    Contact.objects.using(site.src).filter(pk=1).update(vorname="Changed")
    crm_only(site)
    site.configure(DEVDATA_PII_STRICT=True)

    with pytest.raises(ConfigError) as raised:
        site.export()

    message = re.fullmatch(
        r"DEVDATA_PII_STRICT: 4 exported fields look personal and have no anonymiser: (.*); "
        r"anonymise each or mark it keep\(\) \(manage.py devdata_pii suggests how\); nothing "
        r"was exported",
        str(raised.value),
    )
    assert message and set(message[1].split(", ")) == set(FOUND)
    assert snapshot(site.export_dir) == before
    # Exporting some models only, those are checked.
    site.configure(
        DEVDATA_MODEL_ANONYMISERS={"crm.Contact": {"login": keep(), "date_of_birth": keep()}}
    )
    with pytest.raises(ConfigError, match=r"1 exported field looks personal and has no ") as one:
        site.export("crm.Contact")
    assert ": crm.Contact.vorname; " in str(one.value)
    site.export("polls.Question")
    assert snapshot(site.export_dir) != before


@pytest.mark.databases_only("sqlite")
def test_strict_mode_is_one_line_and_a_failing_exit_for_ci(site):
    make_contacts(site)
    site.export()
    before = snapshot(site.export_dir)

    result = site.cli(
        "devdata_export", str(site.export_dir), "--settings", "testsite.settings_pii_strict"
    )

    assert result.returncode == 1
    assert result.stderr.startswith("ConfigError: DEVDATA_PII_STRICT: ")
    assert ", crm.Contact.vorname, " in result.stderr
    assert result.stderr.count("\n") == 1
    assert snapshot(site.export_dir) == before

    checked = site.cli("check", "--settings", "testsite.settings_pii_strict")

    assert checked.returncode == 1
    assert (
        "crm.Contact.vorname: (devdata.E001) exported as it is, yet looks personal: named "
        "like a first name ('vorname')\n\tHINT: Anonymise it, e.g. "
        'faker_anonymise("first_name"), or mark it keep() (see manage.py devdata_pii).'
        in checked.stderr
    )
    # Without a database the check reads no values: the notes are not looked at.
    assert "crm.Contact.notes" not in checked.stderr


def test_devdata_pii_lists_the_findings_and_prints_settings_that_fix_them(site):
    make_contacts(site, notes="jo@example.org")
    crm_only(site)

    with pytest.raises(ConfigError, match=r"^5 exported fields look personal"):
        call_command("devdata_pii", database=site.src, stdout=(table := _Text()))

    lines = table.getvalue().splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "model",
        "field",
        "why it looks personal",
        "suggested anonymiser",
    ]
    rows = [re.split(r"\s{2,}", line) for line in lines[2:]]
    assert ["crm.Contact", "notes", "holds emails in 1 of 1 sampled values",
            'faker_anonymise("email")'] in rows  # fmt: skip
    assert [
        "crm.ApiToken",
        "key",
        "named like a login secret ('key')",
        "leave the model out: 'crm.ApiToken': [] in DEVDATA_STRATEGIES",
    ] in rows
    assert len(rows) == 5

    call_command("devdata_pii", database=site.src, settings_snippet=True, stdout=(out := _Text()))
    snippet: dict = {}
    exec(out.getvalue(), snippet)
    site.configure(
        DEVDATA_MODEL_ANONYMISERS=snippet["DEVDATA_MODEL_ANONYMISERS"],
        DEVDATA_PII_STRICT=True,
    )
    crm_only(site, **{"crm.ApiToken": []})
    assert '#     "crm.ApiToken": [],' in out.getvalue()

    call_command("devdata_pii", database=site.src, stdout=(clean := _Text()))

    assert clean.getvalue() == "No exported field looks personal without an anonymiser.\n"
    site.export()
    contacts = {row["pk"]: row["fields"] for row in site.exported("crm.Contact")["all"]}
    assert all(
        "production" not in c["login"] and "Geheim" not in c["vorname"] for c in contacts.values()
    )
    assert contacts[2]["notes"] != "jo@example.org"
    assert site.exported("crm.ApiToken") == {}


def pii_table(site: Site) -> dict[str, str]:
    """What ``devdata_pii`` finds, by field, with why."""
    with pytest.raises(ConfigError):
        call_command("devdata_pii", database=site.src, stdout=(table := _Text()))
    rows = [re.split(r"\s{2,}", line) for line in table.getvalue().splitlines()[2:]]
    return {f"{model}.{field}": why for model, field, why, _ in rows}


class _Text:
    """A stream a command writes to."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.parts)


# Secrets -------------------------------------------------------------------------------


def make_login(site: Site) -> User:
    """An account with a real password, and a session of its: a login to production."""
    site.configure(PASSWORD_HASHERS=FAST_HASHERS)
    user = User(pk=1, username="admin")
    user.set_password("production-password")
    user.save(using=site.src)
    User.objects.using(site.src).create(pk=2, username="sso-only", password="!unusable")
    Session.objects.using(site.src).create(
        session_key="production-session-key",
        session_data="e30:production",
        expire_date=timezone.now() + datetime.timedelta(days=1),
    )
    return user


def exported_passwords(site: Site) -> dict[int, str]:
    return {row["pk"]: row["fields"]["password"] for row in site.exported("auth.User")["all"]}


def test_passwords_become_the_development_password_and_sessions_stay_behind(site):
    original = make_login(site).password

    site.roundtrip()

    passwords = exported_passwords(site)
    assert check_password("devdata", passwords[1]) and passwords[1] != original
    assert passwords[2] == "!unusable"
    assert site.export_dir.joinpath("sessions.Session").exists() is False
    assert "production-session-key" not in "".join(
        p.read_text() for p in site.export_dir.rglob("*.jsonl")
    )
    assert User.objects.using(site.dev).get(pk=1).check_password("devdata")
    assert site.pks(Session) == set()
    first = snapshot(site.export_dir / "auth.User")

    site.export()

    # One hash per key: exports stay identical.
    assert snapshot(site.export_dir / "auth.User") == first


def test_no_strategy_carries_credentials_out(site):
    """Neither a strategy that exports values as they are (``anonymise=False``) nor an
    inheriting user model, whose parent row holds the password, lets a hash leave."""
    original = make_login(site).password
    agent = Agent(pk=3, username="agent", team="north")
    agent.set_password("agent-password")
    agent.save(using=site.src)
    site.configure(
        DEVDATA_STRATEGIES={
            "auth.User": [ExactQuerySetStrategy(name="all", pks=[1, 2, 3], anonymise=False)],
            "crm.Agent": [QuerySetStrategy(name="all")],
        }
    )

    site.roundtrip()

    passwords = exported_passwords(site)
    assert original not in passwords.values() and agent.password not in passwords.values()
    assert check_password("devdata", passwords[1]) and check_password("devdata", passwords[3])
    assert Agent.objects.using(site.dev).get(pk=3).check_password("devdata")


def test_passwords_can_be_unusable_another_password_or_kept(site):
    original = make_login(site).password

    site.configure(DEVDATA_PASSWORDS="unusable")
    site.export()
    assert not is_password_usable(exported_passwords(site)[1])

    site.configure(DEVDATA_PASSWORDS="dev", DEVDATA_DEV_PASSWORD="let-me-in")
    site.export()
    assert check_password("let-me-in", exported_passwords(site)[1])

    site.configure(DEVDATA_MODEL_ANONYMISERS={"auth.User": {"password": const("!by-me")}})
    site.export()
    assert exported_passwords(site) == {1: "!by-me", 2: "!by-me"}

    site.configure(DEVDATA_PASSWORDS="keep", DEVDATA_MODEL_ANONYMISERS={})
    site.export()
    assert exported_passwords(site)[1] == original

    site.configure(DEVDATA_PASSWORDS="none")
    with pytest.raises(ConfigError, match=r"^DEVDATA_PASSWORDS must be 'dev' or 'unusable' or"):
        site.export()


def test_sessions_and_tokens_leave_when_a_strategy_names_them(site):
    make_login(site)
    make_contacts(site)
    site.configure(
        SILENCED_SYSTEM_CHECKS=[],
        DEVDATA_STRATEGIES={
            "sessions.Session": [QuerySetStrategy(name="all")],
            "crm.ApiToken": [QuerySetStrategy(name="all")],
        },
    )

    output = site.export()
    site.import_()

    assert site.pks(Session) == {"production-session-key"}
    assert site.pks(ApiToken) == {"production-token-1", "production-token-2"}
    # Named on purpose: the check does not ask to leave them out.
    found = warnings(output.stderr)
    assert "crm.ApiToken.key" not in found
    assert not [label for label in found if label.startswith("sessions.")]
