"""One import at a time into a database: a second one refuses, naming the first.

PostgreSQL: an advisory lock, MySQL: ``GET_LOCK``, each held on a connection to the
server (the target database may not exist yet) and keyed by the target's name; SQLite:
``flock`` on a file beside the database file. The lock goes with the process, so a
killed import holds none.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from django.db import OperationalError, connections

from . import databases, files
from .errors import DevdataError

#: How long an import waits for the lock before refusing: a run killed a moment ago may
#: still hold it until its database session notices.
WAIT_SECONDS = 3

#: PostgreSQL's SQLSTATE for a lock not granted within ``lock_timeout``.
_LOCK_NOT_AVAILABLE = "55P03"
#: The first half of devdata's PostgreSQL advisory lock keys ("devd"); the second is the
#: CRC-32 of the database name.
_POSTGRES_LOCK_CLASS = 0x64657664


def _this_run() -> str:
    return (
        f"devdata_import pid {os.getpid()} on {socket.gethostname()}, "
        f"started {time.strftime('%H:%M:%S')}"
    )


def _refusal(database: str, other: str) -> DevdataError:
    return DevdataError(
        f"another import into {databases.describe(database)} is running ({other}): wait for "
        "it to finish, or stop it, and import again; nothing was changed"
    )


@contextmanager
def one_import_at_a_time(database: str) -> Iterator[None]:
    """Hold the import lock of the database behind alias ``database``, or refuse."""
    connection = connections[database]
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "postgresql":
        with databases.server_cursor(connection) as cursor:
            _lock_postgres(cursor, database, name)
            yield
    elif connection.vendor == "mysql":
        with databases.server_cursor(connection) as cursor:
            _lock_mysql(cursor, database, name)
            yield
    elif databases.is_sqlite_file(connection):
        with _lock_file(database, Path(f"{name}.devdata-lock")):
            yield
    else:  # an in-memory database belongs to this process alone
        yield


def _lock_postgres(cursor: Any, database: str, name: str) -> None:
    key = zlib.crc32(name.encode()) & 0x7FFFFFFF
    cursor.execute("SELECT pg_catalog.set_config('application_name', %s, false)", [_this_run()])
    cursor.execute(f"SET lock_timeout = {WAIT_SECONDS * 1000}")
    try:
        cursor.execute("SELECT pg_catalog.pg_advisory_lock(%s, %s)", [_POSTGRES_LOCK_CLASS, key])
        return
    except OperationalError as exc:
        if databases.sqlstate(exc) != _LOCK_NOT_AVAILABLE:
            raise
    cursor.execute(
        "SELECT a.application_name, a.client_addr FROM pg_catalog.pg_locks l "
        "JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
        "AND l.objsubid = 2",
        [_POSTGRES_LOCK_CLASS, key],
    )
    holder = cursor.fetchone()
    other = "it has just finished" if holder is None else holder[0] or "a session"
    if holder is not None and holder[1]:
        other += f", from {holder[1]}"
    raise _refusal(database, other)


def _lock_mysql(cursor: Any, database: str, name: str) -> None:
    # GET_LOCK takes names of up to 64 characters: the database name is hashed.
    lock = f"devdata_import:{hashlib.sha256(name.encode()).hexdigest()[:40]}"
    cursor.execute("SELECT GET_LOCK(%s, %s)", [lock, WAIT_SECONDS])
    if cursor.fetchone()[0] == 1:
        return
    cursor.execute(
        "SELECT p.ID, p.HOST, p.TIME FROM information_schema.PROCESSLIST p "
        "WHERE p.ID = IS_USED_LOCK(%s)",
        [lock],
    )
    holder = cursor.fetchone()
    other = (
        "it has just finished"
        if holder is None
        else f"MySQL connection {holder[0]} from {holder[1]}, for {holder[2]} s"
    )
    raise _refusal(database, other)


@contextmanager
def _lock_file(database: str, path: Path) -> Iterator[None]:
    """``flock`` on ``path``, which says which run holds it."""
    with ExitStack() as held:
        try:
            held.enter_context(files.locked(path, wait=WAIT_SECONDS, holder=_this_run()))
        except files.LockBusy as busy:
            raise _refusal(database, busy.holder or "it has just started") from None
        except OSError as exc:
            raise DevdataError(
                f"cannot open the import lock {path} ({exc.strerror}); nothing was changed"
            ) from exc
        yield
