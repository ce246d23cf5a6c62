"""One snapshot of the source for a whole export, as ``pg_dump`` reads one.

Read table by table in autocommit, an export taken while the source is written to sees
each table at another moment: orders of a customer created after the customers were
read, a customer whose orders were deleted since. So everything the export reads, the
strategies, extras, anonymisers and hooks included, is read in one transaction on
Django's connection for the alias:

- PostgreSQL: ``REPEATABLE READ, READ ONLY``; with ``serializable``,
  ``SERIALIZABLE, READ ONLY, DEFERRABLE`` (``pg_dump --serializable-deferrable``), which
  waits for a snapshot that no concurrent serializable transaction can still invalidate.
  A hot standby refuses serializable transactions; repeatable read works there.
- MySQL/MariaDB: ``START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY`` at
  ``REPEATABLE READ``: Django's connections default to ``READ COMMITTED``, which takes a
  new snapshot for every statement. Tables of engines without transactions (MyISAM)
  have no snapshot.
- SQLite: one read transaction. In WAL mode writers go on meanwhile; in rollback-journal
  mode they wait until the export ends (up to their busy timeout), as SQLite's locking
  has it. ``PRAGMA query_only`` makes it read only.

One connection, because neither MySQL nor MariaDB lets a second connection share a
snapshot (short of ``FLUSH TABLES WITH READ LOCK``, which needs a privilege a read
replica's role lacks): :func:`.databases.stream_mysql` reads on it too. Inside
``transaction.atomic``, a plugin's own ``atomic`` blocks become savepoints, and Django
refuses a commit, a change of autocommit or a reconnection in the middle.

The transaction is read only, so a write fails instead of reaching the source, and a
role that may only ``SELECT`` (a read replica's) can export: no temporary tables, no
writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction

#: The statements that start the snapshot, per vendor and ``serializable``.
_BEGIN = {
    ("postgresql", False): ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"],
    ("postgresql", True): ["SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"],
    ("mysql", False): [
        # Without SESSION: for the next transaction only.
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    ],
    ("sqlite", False): ["PRAGMA query_only = ON"],
}


def serializable_ignored(database: str) -> str | None:
    """Why ``serializable`` makes no difference on ``database``, or ``None`` if it does."""
    connection = connections[database]
    if connection.vendor == "postgresql":
        return None
    return (
        f"--serializable-deferrable is for PostgreSQL; alias {database!r} is "
        f"{connection.display_name}, exported from one snapshot without it"
    )


@contextmanager
def open_snapshot(database: str, serializable: bool = False) -> Iterator[None]:
    """Run the block in one read-only snapshot of ``database``, on its Django connection.

    ``serializable`` asks PostgreSQL for a serializable, deferrable snapshot; other
    databases ignore it (see :func:`serializable_ignored`). Called inside the caller's
    ``transaction.atomic`` (a ``TestCase``, say), the block reads in that transaction
    as it is, seeing its uncommitted rows: no transaction starts inside another.
    """
    connection = connections[database]
    if connection.in_atomic_block:
        yield
        return
    vendor = connection.vendor
    begin = _BEGIN.get((vendor, serializable and vendor == "postgresql"), [])
    # Entering the block connects if need be and starts the transaction (on SQLite with
    # BEGIN, elsewhere at the first statement): what follows opens it.
    try:
        with transaction.atomic(using=database):
            with connection.cursor() as cursor:
                for statement in begin:
                    cursor.execute(statement)
            yield
    finally:
        if vendor == "sqlite" and connection.connection is not None:
            # After the transaction: a failed one refuses every statement until it ends.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA query_only = OFF")
