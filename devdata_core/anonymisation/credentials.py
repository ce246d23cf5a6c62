"""Credentials are not data: an export carries no password hash and no login session.

A copied password hash lets whoever holds the export guess passwords offline, at leisure,
and a session row is a login to production for whoever presents its key. So by default
(``DEVDATA_PASSWORDS = "dev"``) every usable password hash becomes one hash of a
documented development password (``DEVDATA_DEV_PASSWORD``, ``"devdata"``), hashed once
per run with a salt derived from the anonymisation key, so that two exports with one key
are identical; ``"unusable"`` makes every password unusable instead, and ``"keep"``
exports the hashes as they are. A password that was unusable or empty stays so. An
anonymiser configured for the field wins.

Tables whose rows are logins (:data:`LOGIN_SECRET_MODELS`) get no default strategy:
they are exported only if ``DEVDATA_STRATEGIES`` names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, get_args

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, get_hasher, make_password
from django.db.models import Model

from .keyed import Keyed

if TYPE_CHECKING:
    from ..anonymisers import Anonymiser

PasswordMode = Literal["dev", "unusable", "keep"]
#: The values ``DEVDATA_PASSWORDS`` takes; the first is the default.
PASSWORD_MODES: tuple[PasswordMode, ...] = get_args(PasswordMode)
#: The password every exported account has under ``DEVDATA_PASSWORDS = "dev"``.
DEFAULT_DEV_PASSWORD = "devdata"
#: Models whose rows are login secrets: no default strategy exports them.
LOGIN_SECRET_MODELS = frozenset({"sessions.Session"})


@dataclass(frozen=True)
class Passwords:
    """What an export does with password hashes (``DEVDATA_PASSWORDS`` and friends)."""

    mode: PasswordMode = "dev"
    dev_password: str = DEFAULT_DEV_PASSWORD
    #: Further fields holding Django password hashes, as (model label, field name)
    #: (``DEVDATA_PASSWORD_FIELDS``).
    fields: frozenset[tuple[str, str]] = frozenset()

    def fields_of(self, model: type[Model]) -> list[str]:
        """The fields of ``model`` that hold password hashes: ``password`` of a user model
        (any subclass of ``AbstractBaseUser``), and those named in the settings."""
        # Imported here: a model class, and these settings load before the app registry.
        from django.contrib.auth.base_user import AbstractBaseUser

        concrete = model._meta.concrete_model
        label = concrete._meta.label
        names = {name for owner, name in self.fields if owner == label}
        if issubclass(concrete, AbstractBaseUser):
            names.add("password")
        return sorted(names)

    def anonymisers_for(self, model: type[Model], key: bytes) -> dict[str, Anonymiser]:
        """The anonymisers that replace ``model``'s password hashes (none under ``keep``)."""
        if self.mode == "keep":
            return {}
        anonymiser = PasswordReplacement(self.mode, self.dev_password, key)
        return {name: anonymiser for name in self.fields_of(model)}


class PasswordReplacement:
    """Replaces a usable password hash by the development password's, or an unusable one."""

    def __init__(self, mode: PasswordMode, dev_password: str, key: bytes) -> None:
        self.mode = mode
        self.dev_password = dev_password
        self.key = key

    def __call__(self, *, pii_value: Any, **_context: Any) -> Any:
        if not pii_value or pii_value.startswith(UNUSABLE_PASSWORD_PREFIX):
            return pii_value
        if self.mode == "unusable":
            return unusable_password(self.key)
        return dev_password_hash(self.dev_password, self.key, get_hasher().algorithm)

    def __repr__(self) -> str:
        return f"PasswordReplacement({self.mode!r})"


@lru_cache(maxsize=8)
def dev_password_hash(password: str, key: bytes, algorithm: str) -> str:
    """``password`` hashed with the project's hasher (``algorithm``), once per run (hashing
    is slow on purpose), with a salt derived from ``key``: one key gives one hash."""
    salt = Keyed(key, "devdata.dev-password-salt").digest(b"").hex()
    return make_password(password, salt=salt, hasher=algorithm)


def unusable_password(key: bytes) -> str:
    """An unusable password as ``make_password(None)`` makes one, but the same under one key."""
    return UNUSABLE_PASSWORD_PREFIX + Keyed(key, "devdata.unusable-password").digest(b"", 20).hex()
