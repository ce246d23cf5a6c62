"""The personal-data check: as a Django system check, and before every export.

``manage.py check`` lists the exported fields that look personal and have no anonymiser
(:mod:`.anonymisation.detection`) as warnings ``devdata.W001``, or errors ``devdata.E001``
under ``DEVDATA_PII_STRICT``, by their types and names only: Django hands the system
checks a database on every ``migrate`` and test run too, where reading rows would be
unwelcome. ``devdata_export`` runs the same check with values on the database it exports
from, before it reads a row, and reports each finding on one line (strict: one error,
nothing exported); ``devdata_pii`` prints them. ``SILENCED_SYSTEM_CHECKS`` silences both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings as django_settings
from django.core import checks
from django.db.models import Model

from .anonymisation.detection import Finding, find_personal_fields
from .errors import ConfigError, DevdataError
from .reporting import Reporter
from .settings import DevdataSettings, load_settings

WARNING_ID = "devdata.W001"
ERROR_ID = "devdata.E001"
#: The settings do not load, so the check could not run.
SETTINGS_ID = "devdata.W002"
#: Findings reported one line each before an export; more are summed up in one line.
SHOWN = 10

_deferred: ContextVar[bool] = ContextVar("devdata_check_deferred", default=False)


@contextmanager
def deferred() -> Iterator[None]:
    """Leave the check out of the system checks run meanwhile: devdata's commands run it
    themselves, where they can report it on one line per finding."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def check_personal_fields(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    """The system check: one message per finding. Every command runs it (``migrate`` on a
    deploy too), so devdata's own faults are a warning here, never a stop."""
    if _deferred.get():
        return []
    try:
        settings = load_settings()
        findings = find_personal_fields(settings, None)
    except DevdataError as exc:
        return [
            checks.Warning(
                f"devdata's settings or plugins do not load, so personal fields were not "
                f"looked for: {exc}",
                id=SETTINGS_ID,
            )
        ]
    make = checks.Error if settings.pii_strict else checks.Warning
    return [
        make(
            f"exported as it is, yet looks personal: {finding.why}",
            hint=f"{_sentence(finding.advice())} (see manage.py devdata_pii).",
            obj=finding.model._meta.get_field(finding.field),
            id=ERROR_ID if settings.pii_strict else WARNING_ID,
        )
        for finding in findings
    ]


def silenced(strict: bool) -> bool:
    """Whether ``SILENCED_SYSTEM_CHECKS`` silences the check's messages."""
    return (ERROR_ID if strict else WARNING_ID) in getattr(
        django_settings, "SILENCED_SYSTEM_CHECKS", ()
    )


def check_before_export(
    settings: DevdataSettings,
    database: str,
    reporter: Reporter,
    only: Sequence[type[Model]] = (),
) -> None:
    """Report the findings on ``database`` (in the models of ``only``, if given) as
    warnings; under ``DEVDATA_PII_STRICT``, stop with one error naming every field, before
    the export has read or written anything."""
    if silenced(settings.pii_strict):
        return
    findings = find_personal_fields(settings, database, only)
    if not findings:
        return
    if settings.pii_strict:
        raise ConfigError(
            f"DEVDATA_PII_STRICT: {count(findings)}: {', '.join(f.label for f in findings)}; "
            "anonymise each or mark it keep() (manage.py devdata_pii suggests how); nothing "
            "was exported"
        )
    for finding in findings[:SHOWN]:
        reporter.warn(f"{finding.label} looks personal ({finding.why}); {finding.advice()}")
    if len(findings) > SHOWN:
        more = len(findings) - SHOWN
        reporter.warn(
            f"and {more} more exported field{' that looks' if more == 1 else 's that look'} "
            "personal: see manage.py devdata_pii"
        )


def count(findings: Sequence[Finding]) -> str:
    """How many fields were found, as the start of a message."""
    if len(findings) == 1:
        return "1 exported field looks personal and has no anonymiser"
    return f"{len(findings)} exported fields look personal and have no anonymiser"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
