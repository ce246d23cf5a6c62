"""The errors devdata shows a user: one line saying what, where and how to fix.

Each is a :class:`~django.core.management.base.CommandError`, so a management
command prints its message (and no traceback) and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.management.base import CommandError

T = TypeVar("T")


class DevdataError(CommandError):
    """Base class of every error devdata reports to the user."""


class ConfigError(DevdataError):
    """A ``DEVDATA_*`` setting is malformed."""


class PluginError(DevdataError):
    """A plugin is missing, or raised inside one of its hooks."""


class DataFileError(DevdataError):
    """An export file is missing, unreadable or corrupt."""


class RemoteError(DataFileError):
    """A URL or storage could not be reached, read or written (network, credentials): not
    a fault of the archive, so an import does not fall back to an older one."""


class StrategyError(DevdataError):
    """A strategy failed while exporting or importing a model."""


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to about ``limit`` characters, so that a message stays one readable line."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 10]}... ({len(text):,} characters)"


def describe(exc: BaseException) -> str:
    """An exception as one line: database errors by their message, others with their type.

    A database's ``DETAIL:`` line (PostgreSQL's, naming the offending key) is kept.
    """
    from django.db import DatabaseError

    lines = [line.strip() for line in str(exc).strip().splitlines()]
    first = lines[0] if lines else ""
    if isinstance(exc, DatabaseError):
        details = [
            line.removeprefix("DETAIL:").strip() for line in lines if line.startswith("DETAIL:")
        ]
        return "; ".join([first or type(exc).__name__, *details[:1]])
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def guard(what: str, function: Callable[..., T], *args: Any, consequence: str = "") -> T:
    """Call plugin or strategy code, turning its failures into a one-line StrategyError.

    ``what`` says where ("exporting auth.User with strategy 'all'"); ``consequence``
    is appended to the message ("; nothing was imported"). Devdata's own errors, and
    integrity errors the caller reports itself, pass through.
    """
    from django.db import IntegrityError

    try:
        return function(*args)
    except (DevdataError, IntegrityError):
        raise
    except Exception as exc:
        raise StrategyError(f"{what} failed: {describe(exc)}{consequence}") from exc
