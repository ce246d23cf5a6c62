"""Exported fields that look personal, or secret, and that no anonymiser covers.

A field is suspect by its type (an ``EmailField``, an IP address, a URL), by its name
(word parts of the name found in :data:`PERSONAL_NAMES`, a dictionary in English,
German, French, Spanish, Dutch and Italian that ``DEVDATA_PII_NAMES`` extends, or in
:data:`SECRET_NAMES`), or by its values: a bounded sample of each exported text column
is searched for emails, phone numbers, IP addresses and card numbers, so that a
``notes`` column holding emails is found too. Plugins add detectors through the
``devdata_pii_detectors`` hook; the core's own come from the same hook.

Only fields of models the export takes are looked at. A field with an anonymiser, or
marked :func:`~devdata_core.anonymisers.keep`, is a choice made and is not reported, and
so is a table keyed by its secrets that ``DEVDATA_STRATEGIES`` names (rather than the
default strategy taking it); password hashes are :mod:`.credentials`' business.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.db import DatabaseError, models
from django.db.models import Field, Model

from .. import plugins
from ..errors import ConfigError
from ..plan import export_plan
from ..serialization import exported_fields
from ..settings import DevdataSettings, model_label
from ..strategies import Exportable
from . import generators

#: Values read per text column when looking for personal data in the values.
SAMPLE_SIZE = 200

#: Field names that mark personal data: the Faker generator to suggest, what the name
#: says, and the words (whole words of a field name, in any order of parts: ``email``
#: finds ``contact_email`` and ``emailAddress``; words of five letters or more are also
#: found inside compound words, as ``telefon`` in ``telefonnummer``). Extend it with
#: ``DEVDATA_PII_NAMES = {"generator": ["word", ...]}``.
PERSONAL_NAMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "first_name": (
        "a first name",
        (
            "first_name", "given_name", "forename", "vorname", "prenom", "nombre_de_pila",
            "voornaam", "nome_proprio", "primo_nome",
        ),
    ),
    "last_name": (
        "a last name",
        (
            "last_name", "surname", "family_name", "maiden_name", "nachname", "familienname",
            "nom_de_famille", "apellido", "apellidos", "achternaam", "tussenvoegsel", "cognome",
        ),
    ),
    "name": (
        "a person's full name",
        (
            "full_name", "display_name", "contact_name", "customer_name", "person_name",
            "nombre_completo", "vollstandiger_name", "nom_complet", "volledige_naam",
            "nome_completo",
        ),
    ),
    "user_name": ("a user name", ("username", "user_name", "login_name", "benutzername")),
    "email": (
        "an email address",
        (
            "email", "e_mail", "mail", "email_address", "mail_address", "email_adresse",
            "courriel", "correo", "correo_electronico", "posta_elettronica",
        ),
    ),
    "phone_number": (
        "a phone number",
        (
            "phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "telefon",
            "handy", "mobil", "rufnummer", "portable", "telefono", "movil", "celular",
            "telefoon", "mobiel", "cellulare",
        ),
    ),
    "street_address": (
        "a postal address",
        (
            "address", "street", "address_line", "house_number", "adresse", "anschrift",
            "strasse", "hausnummer", "rue", "direccion", "calle", "adres", "straat",
            "huisnummer", "indirizzo",
        ),
    ),
    "postcode": (
        "a postcode",
        (
            "postcode", "postal_code", "zip", "zipcode", "zip_code", "plz", "postleitzahl",
            "code_postal", "codigo_postal", "codice_postale",
        ),
    ),
    "date_of_birth": (
        "a birth date",
        (
            "birth_date", "date_of_birth", "dob", "birthday", "birthdate", "geburtsdatum",
            "geburtstag", "date_de_naissance", "naissance", "fecha_de_nacimiento",
            "nacimiento", "geboortedatum", "data_di_nascita", "nascita",
        ),
    ),
    "ssn": (
        "a national id number",
        (
            "ssn", "social_security", "national_id", "national_insurance", "tax_id",
            "personal_id", "steuer_id", "steuernummer", "sozialversicherungsnummer",
            "personalausweis", "numero_securite_sociale", "dni", "nie", "nif", "bsn",
            "burgerservicenummer", "codice_fiscale",
        ),
    ),
    "passport_number": (
        "a passport number",
        ("passport", "reisepass", "passeport", "pasaporte", "paspoort", "passaporto"),
    ),
    "iban": (
        "a bank account",
        (
            "iban", "bank_account", "account_number", "kontonummer", "numero_de_compte",
            "numero_de_cuenta", "rekeningnummer", "conto_corrente",
        ),
    ),
    "credit_card_number": (
        "a card number",
        (
            "card_number", "credit_card", "cc_number", "kreditkarte", "carte_bancaire",
            "tarjeta", "creditcard", "carta_di_credito",
        ),
    ),
    "ipv4": (
        "an IP address",
        (
            "ip", "ip_address", "remote_addr", "remote_ip", "client_ip", "ip_adresse",
            "adresse_ip", "direccion_ip", "ip_adres", "indirizzo_ip",
        ),
    ),
    "user_agent": ("a user agent", ("user_agent", "useragent")),
    "latitude": (
        "a geographic coordinate",
        ("latitude", "lat", "breitengrad", "latitud", "breedtegraad", "latitudine"),
    ),
    "longitude": (
        "a geographic coordinate",
        (
            "longitude", "lng", "lon", "laengengrad", "longitud", "lengtegraad",
            "longitudine",
        ),
    ),
}  # fmt: skip

#: Field names that mark a login secret: whoever holds the value can log in or call an API.
SECRET_NAMES: tuple[str, ...] = (
    "token", "secret", "api_key", "apikey", "access_key", "private_key", "secret_key",
    "session_key", "auth_key", "signing_key", "password", "passwd", "passwort",
    "mot_de_passe", "contrasena", "wachtwoord", "otp", "totp",
)  # fmt: skip
#: Field names that are a secret only as the whole name (``key``, not ``sort_key``).
SECRET_WHOLE_NAMES = frozenset({"key"})
#: Last words of a name that describe a personal value rather than hold it:
#: ``mobile_app_version``, ``email_type``, ``phone_verified``.
DESCRIBING_WORDS = frozenset(
    {
        "version", "type", "kind", "status", "state", "format", "provider", "count",
        "verified", "confirmed", "enabled", "visible", "visibility", "consent", "template",
    }
)  # fmt: skip

#: Generators whose field types may hold them, beside text: dates, numbers.
_DATES = frozenset({"date_of_birth"})
_NUMBERS = frozenset({"phone_number", "ssn", "iban", "credit_card_number", "latitude", "longitude"})


@dataclass(frozen=True)
class Suspicion:
    """Why a field looks personal, and the Faker generator whose fakes would replace it."""

    why: str
    generator: str
    #: A login secret rather than personal data.
    secret: bool = False


#: A detector looks at one field (its model is ``field.model``) and says why it looks
#: personal, or ``None``. Plugins return them from ``devdata_pii_detectors``.
Detector = Callable[[Field], Suspicion | None]


@dataclass(frozen=True)
class Finding:
    """An exported field that looks personal or secret and has no anonymiser."""

    model: type[Model]
    field: str
    why: str
    #: The anonymiser to configure, as Python (``faker_anonymise("email", unique=True)``).
    suggestion: str
    #: The field is the primary key of a table of secrets: leave the model out instead.
    leave_out: bool = False

    @property
    def label(self) -> str:
        return f"{model_label(self.model)}.{self.field}"

    def advice(self) -> str:
        """What to do about it, in a few words."""
        if self.leave_out:
            return f"leave the model out: DEVDATA_STRATEGIES[{model_label(self.model)!r}] = []"
        return f"anonymise it, e.g. {self.suggestion}, or mark it keep()"


def exported_models(settings: DevdataSettings) -> list[type[Model]]:
    """Models an export takes rows of: by a strategy of their own, or pulled by others."""
    plan = export_plan(settings)
    return [
        model
        for model in plan.order
        if model in plan.pulled
        or any(isinstance(s, Exportable) for s in settings.strategies.get(model, []))
    ]


def find_personal_fields(
    settings: DevdataSettings,
    database: str | None = None,
    only: Sequence[type[Model]] = (),
    sample_size: int = SAMPLE_SIZE,
) -> list[Finding]:
    """Every exported field (of the models in ``only``, if given) that looks personal and
    has no anonymiser.

    With a ``database``, the values of up to ``sample_size`` rows of each remaining text
    column are looked at too (a column whose table is missing there is skipped).
    """
    detectors = plugins.pii_detectors()
    findings = []
    for model in exported_models(settings):
        if only and model not in only:
            continue
        covered = set(settings.anonymisers_for(model)) | set(settings.passwords.fields_of(model))
        # The primary key too: a table keyed by a secret (an API token) is one of secrets.
        for field in [model._meta.pk, *exported_fields(model)]:
            if field.name in covered or field.is_relation:
                continue
            suspicion = next((s for d in detectors if (s := d(field)) is not None), None)
            if suspicion is None and database is not None and _is_text(field):
                suspicion = suspicious_values(_sample(model, field, database, sample_size))
            if suspicion is None:
                continue
            if suspicion.secret and field.primary_key and model not in settings.defaulted:
                continue  # a table keyed by secrets that a strategy names: exported on purpose
            findings.append(_finding(model, field, suspicion))
    return findings


def _finding(model: type[Model], field: Field, suspicion: Suspicion) -> Finding:
    return Finding(
        model=model,
        field=field.name,
        why=suspicion.why,
        suggestion=suggest(field, suspicion.generator),
        leave_out=suspicion.secret and field.primary_key,
    )


def suggest(field: Field, generator: str) -> str:
    """The anonymiser to suggest for ``field``, as Python: a keyed fake that keeps the
    field's uniqueness and its NULLs."""
    arguments = [json.dumps(generator)]
    email = isinstance(field, models.EmailField) or "email" in generator
    if field.unique and generators.can_tag(field, email):
        arguments.append("unique=True")
    if field.null:
        arguments.append("preserve_nulls=True")
    return f"faker_anonymise({', '.join(arguments)})"


# By type -----------------------------------------------------------------------------


def by_type(field: Field) -> Suspicion | None:
    """Fields whose type says what they hold: emails, IP addresses, URLs."""
    kind = type(field).__name__
    if isinstance(field, models.EmailField):
        return Suspicion(f"an {kind}", "email")
    if isinstance(field, models.GenericIPAddressField) or kind == "IPAddressField":
        ipv6 = getattr(field, "protocol", "both").lower() == "ipv6"
        return Suspicion(f"a {kind}", "ipv6" if ipv6 else "ipv4")
    if isinstance(field, models.URLField):
        return Suspicion(f"a {kind} (a personal page, or a link with a token)", "url")
    return None


# By name -----------------------------------------------------------------------------


def words(name: str) -> tuple[str, ...]:
    """The lower-case ASCII words of a field name: ``contactEmail_2`` -> ``contact, email``."""
    name = name.replace("ß", "ss").replace("ẞ", "SS")
    name = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return tuple(part for part in re.split(r"[^a-zA-Z]+", name.lower()) if part)


class NameDetector:
    """Finds fields whose names hold a word of the dictionaries (see :data:`PERSONAL_NAMES`)."""

    #: Words this long or longer are also found inside compound words.
    COMPOUND = 5

    def __init__(self, names: Mapping[str, tuple[str, Iterable[str]]]) -> None:
        # The most specific word first: "ip_address" is an IP address, not a postal one.
        self.entries = sorted(
            (
                (words(word), generator, what)
                for generator, (what, entries) in names.items()
                for word in entries
            ),
            key=lambda entry: (len(entry[0]), len("".join(entry[0]))),
            reverse=True,
        )
        self.secrets = [words(word) for word in SECRET_NAMES]

    def __call__(self, field: Field) -> Suspicion | None:
        parts = words(field.name)
        if (
            generators.is_text(field)
            and field.choices is None
            and (
                field.name in SECRET_WHOLE_NAMES
                or any(_contains(parts, secret) for secret in self.secrets)
            )
        ):
            return Suspicion(f"named like a login secret ({field.name!r})", "sha1", True)
        found = self._match(field, parts)
        if found is not None:
            generator, what = found
            return Suspicion(f"named like {what} ({field.name!r})", generator)
        # A name says little (Oscar's address lines are line1 to line4); a verbose name
        # the project wrote says more ("First line of address").
        described = str(field.verbose_name or "")
        if described and described != field.name.replace("_", " "):
            found = self._match(field, words(described), prose=True)
            if found is not None:
                generator, what = found
                return Suspicion(f"described as {what} ({described!r})", generator)
        return None

    def _match(
        self, field: Field, parts: tuple[str, ...], prose: bool = False
    ) -> tuple[str, str] | None:
        """The generator and description of the most specific entry in ``parts``. In
        ``prose`` (a verbose name), only single words of :attr:`COMPOUND` letters or more
        count: "display name" is a site's, "mail server" no address."""
        if not parts or parts[-1] in DESCRIBING_WORDS:
            return None
        for entry, generator, what in self.entries:
            if prose and (len(entry) > 1 or len(entry[0]) < self.COMPOUND):
                continue
            if _fits(field, generator) and _contains(parts, entry):
                return generator, what
        return None


def _contains(parts: tuple[str, ...], word: tuple[str, ...]) -> bool:
    """Whether ``word`` (its parts) is among ``parts``, joined or not, or inside a compound."""
    joined = "".join(word)
    for start in range(len(parts)):
        if parts[start : start + len(word)] == word:
            return True
        run = ""
        for part in parts[start:]:
            run += part
            if run == joined:
                return True
            if len(run) >= len(joined):
                break
        if len(joined) >= NameDetector.COMPOUND and (
            parts[start].startswith(joined) or parts[start].endswith(joined)
        ):
            return True
    return False


def _fits(field: Field, generator: str) -> bool:
    """Whether ``field``'s type could hold what ``generator`` makes (not a flag, a count...)."""
    if field.choices is not None:
        return False
    if generators.is_text(field):
        return True
    if isinstance(field, models.DateField):
        return generator in _DATES
    if isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField)):
        return generator in _NUMBERS
    return False


def personal_names() -> dict[str, tuple[str, tuple[str, ...]]]:
    """:data:`PERSONAL_NAMES` with the words of ``DEVDATA_PII_NAMES`` added."""
    extra = getattr(django_settings, "DEVDATA_PII_NAMES", {})
    if not isinstance(extra, Mapping):
        raise ConfigError(
            f"DEVDATA_PII_NAMES must be a dict of Faker generator to a list of words, got {extra!r}"
        )
    names = dict(PERSONAL_NAMES)
    for generator, entries in extra.items():
        if (
            not isinstance(generator, str)
            or isinstance(entries, str)
            or not isinstance(entries, Sequence)
            or not all(isinstance(word, str) and words(word) for word in entries)
        ):
            raise ConfigError(
                f"DEVDATA_PII_NAMES[{generator!r}]: expected a list of words, got {entries!r}"
            )
        what, known = names.get(generator, (f"{generator.replace('_', ' ')} data", ()))
        names[generator] = (what, (*known, *entries))
    return names


# By values ---------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])")
#: International numbers (``+44 20 7946 0958``, ``0049 30 1234567``), and national ones
#: with an area code in brackets or separators (``(555) 123-4567``, ``030-1234567``).
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)[1-9]\d{0,2}[ .\-/]?(?:\(\d{1,5}\)[ .\-/]?)?"
    r"\d{1,5}(?:[ .\-/]?\d{2,5}){1,4}"
    r"|\(\d{2,5}\)[ .\-]?\d{3,4}[ .\-]?\d{3,4}"
    r"|0\d{1,4}[ \-/]\d{3,4}[ \-]?\d{3,5}"
    r"|\d{3}[.\-]\d{3}[.\-]\d{4})(?![\w])"
)
_CARD = re.compile(r"(?<![\d.])(?:\d[ \-]?){12,18}\d(?![\d.])")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_card(number: str) -> bool:
    """Digits of a payment card: a known issuer's prefix and length, and a valid Luhn sum."""
    digits = re.sub(r"\D", "", number)
    issuer = re.match(r"4|5[1-5]|2[2-7]|3[47]|6(?:011|5)", digits)
    return issuer is not None and 13 <= len(digits) <= 19 and _luhn(digits)


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def _is_phone(text: str) -> bool:
    return 9 <= sum(c.isdigit() for c in text) <= 15


#: What the values are searched for: the Faker generator for a column that holds only
#: such values, what they are called, and how to find them in a text.
VALUE_PATTERNS: tuple[tuple[str, str, Callable[[str], list[str]]], ...] = (
    ("email", "emails", _EMAIL.findall),
    ("credit_card_number", "card numbers", lambda t: [m for m in _CARD.findall(t) if _is_card(m)]),
    ("phone_number", "phone numbers", lambda t: [m for m in _PHONE.findall(t) if _is_phone(m)]),
    ("ipv4", "IP addresses", _IPV4.findall),
    ("ipv6", "IP addresses", lambda t: [m for m in _IPV6.findall(t) if _is_ipv6(m)]),
)


def suspicious_values(values: Sequence[str]) -> Suspicion | None:
    """What a sample of a column's values holds that looks personal, or ``None``.

    A column whose values are nothing but, say, emails gets the generator of emails
    suggested; one where they sit inside longer text gets a fake text.
    """
    for generator, what, find in VALUE_PATTERNS:
        found = [(value, hits) for value in values if (hits := find(value))]
        if found:
            whole = all(hits == [value.strip()] for value, hits in found)
            return Suspicion(
                f"holds {what} in {len(found)} of {len(values)} sampled values",
                generator if whole else "text",
            )
    return None


def _is_text(field: Field) -> bool:
    return (
        generators.is_text(field) or isinstance(field, models.JSONField)
    ) and field.choices is None


def _sample(model: type[Model], field: Field, database: str, size: int) -> list[str]:
    """Up to ``size`` non-empty values of ``field`` in ``database``, as text."""
    query = (
        model._base_manager.using(database)
        .filter(**{f"{field.name}__isnull": False})
        .values_list(field.attname, flat=True)[:size]
    )
    try:
        values = list(query)
    except DatabaseError:
        return []
    return [text for value in values if (text := _as_text(value))]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return repr(value)  # JSON: the strings inside are found in their repr


# Settings to paste ---------------------------------------------------------------------


def settings_snippet(findings: Sequence[Finding]) -> str:
    """Settings that anonymise every finding, as Python to paste into a settings module."""
    lines = ["from devdata_core.anonymisers import faker_anonymise", ""]
    by_model: dict[str, list[Finding]] = {}
    left_out = []
    for finding in findings:
        if finding.leave_out:
            left_out.append(model_label(finding.model))
        else:
            by_model.setdefault(model_label(finding.model), []).append(finding)
    lines.append("DEVDATA_MODEL_ANONYMISERS = {")
    for label, model_findings in by_model.items():
        lines.append(f"    {json.dumps(label)}: {{")
        lines += [
            f"        {json.dumps(f.field)}: {f.suggestion},  # {f.why}" for f in model_findings
        ]
        lines.append("    },")
    lines.append("}")
    if left_out:
        lines += ["", "# Tables of login secrets: leave them out of DEVDATA_STRATEGIES:"]
        lines += [f"#     {json.dumps(label)}: []," for label in dict.fromkeys(left_out)]
    return "\n".join(lines) + "\n"
