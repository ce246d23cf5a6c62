"""The anonymisation key, and the keyed hash that every deterministic fake derives from.

A fake is a function of the key, the generator (with its arguments) and the original
value, so the same person gets the same fake in every table and on every run, and a fake
reveals nothing of the original to whoever lacks the key. BLAKE2b in keyed mode is the
MAC: as strong as HMAC-SHA256 for this use, and one C call per value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings

from ..errors import ConfigError

#: Salt for the key derived from ``SECRET_KEY``, so the key is devdata's alone.
_SALT = b"devdata.anonymisation.v1"


def anonymisation_key() -> bytes:
    """``DEVDATA_ANONYMISATION_KEY``, or a key derived from ``SECRET_KEY`` (never exported)."""
    key = getattr(django_settings, "DEVDATA_ANONYMISATION_KEY", None)
    if key is None:
        secret = getattr(django_settings, "SECRET_KEY", "")
        if not secret:
            raise ConfigError(
                "DEVDATA_ANONYMISATION_KEY is not set and SECRET_KEY is empty: set either, so "
                "that fakes are keyed (the same key gives the same fakes on every run)"
            )
        key = secret
    if isinstance(key, str):
        key = key.encode()
    if not isinstance(key, bytes) or not key:
        raise ConfigError(
            "DEVDATA_ANONYMISATION_KEY must be a non-empty string or bytes, "
            f"got {type(key).__name__}"
        )
    return hashlib.blake2b(key, key=_SALT, digest_size=32).digest()


def key_id(key: bytes) -> str:
    """A short public name for ``key``: tells two exports' keys apart, reveals nothing."""
    return hashlib.blake2b(b"key-id", key=key, digest_size=6).hexdigest()


class Keyed:
    """The keyed hash of one namespace (a generator and its arguments) under one key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes, namespace: str) -> None:
        # A per-namespace subkey: one hash call per value, and namespaces never collide.
        self._key = hashlib.blake2b(namespace.encode(), key=key, digest_size=32).digest()

    def digest(self, value: Any, size: int = 16) -> bytes:
        """``size`` bytes (at most 64) that only the key and ``value`` decide."""
        data = value.encode() if type(value) is str else _bytes(value)
        return hashlib.blake2b(data, key=self._key, digest_size=size).digest()

    def hasher(self, size: int = 8) -> Callable[[Any], int]:
        """:meth:`number` as one function, for the loop of an export: a call a value."""
        key, blake2b, from_bytes = self._key, hashlib.blake2b, int.from_bytes

        def number(value: Any) -> int:
            data = value.encode() if type(value) is str else _bytes(value)
            return from_bytes(blake2b(data, key=key, digest_size=size).digest(), "big")

        return number

    def number(self, value: Any, size: int = 8) -> int:
        """An unsigned integer of ``size`` bytes that only the key and ``value`` decide."""
        return int.from_bytes(self.digest(value, size), "big")


def _bytes(value: Any) -> bytes:
    """The bytes an original value hashes as: the same value hashes the same in every column."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return repr(value).encode()
