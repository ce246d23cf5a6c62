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

``--jobs N`` shares the snapshot as ``pg_dump -j`` does: on PostgreSQL the transaction
exports its snapshot (``pg_export_snapshot()``) and worker threads, each on a Django
connection of its own (Django's connections are per thread), join it with ``SET
TRANSACTION SNAPSHOT``. Workers read at ``REPEATABLE READ`` even under
``--serializable-deferrable``, as ``pg_dump``'s do: the snapshot they join is one the
main transaction waited for, which no serializable transaction can invalidate, so they
see the same rows without serializable's predicate locks. MySQL and MariaDB cannot
share a snapshot (see above), SQLite has one connection to a file, and a caller's
transaction (a ``TestCase``) has uncommitted rows no other connection sees: there the
export reads on one connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

T = TypeVar("T")

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


#: How a worker's transaction joins the exported snapshot (see the module's docstring).
_JOIN = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
#: PostgreSQL's first version with TID range scans, which split a table between jobs:
#: before it, every job would read the whole table.
_TID_RANGE_SCANS = 140000


def serializable_ignored(database: str) -> str | None:
    """Why ``serializable`` makes no difference on ``database``, or ``None`` if it does."""
    connection = connections[database]
    if connection.vendor == "postgresql":
        return None
    return (
        f"--serializable-deferrable is for PostgreSQL; alias {database!r} is "
        f"{connection.display_name}, exported from one snapshot without it"
    )


def jobs_refused(database: str, jobs: int) -> str | None:
    """Why ``jobs`` connections cannot share a snapshot of ``database``, or ``None`` if they
    can (or ``jobs`` is 1)."""
    connection = connections[database]
    if jobs == 1:
        return None
    if connection.vendor != "postgresql":
        why = f"{connection.display_name} cannot share a snapshot between connections"
    elif connection.in_atomic_block:
        why = "the export runs inside a transaction that other connections cannot see"
    elif connection.pg_version < _TID_RANGE_SCANS:
        why = "PostgreSQL before 14 cannot split a table by TID ranges"
    else:
        return None
    return f"--jobs {jobs}: {why}; exported on one connection"


@dataclass
class Snapshot:
    """The snapshot an export reads, and how other connections join it."""

    database: str
    #: Connections that may read it at once: 1 where it cannot be shared.
    jobs: int = 1
    #: Its id from ``pg_export_snapshot()``, when shared.
    exported: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def side_by_side(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``tasks[0]`` on this thread's connection and each other task (one at least)
        on a worker thread of its own, in this snapshot; return their results in order.

        The first failure (Ctrl-C included) cancels the queries of the others and is
        raised once all have stopped: no worker is left writing.
        """
        reading: list[BaseDatabaseWrapper] = [connections[self.database]]
        failures: list[BaseException] = []

        def stop(exc: BaseException) -> None:
            """Note the first failure, and cancel what the other connections read."""
            with self._lock:
                if not failures:
                    failures.append(exc)
                for connection in reading:
                    _cancel(connection)

        def run(task: Callable[[], T], worker: bool) -> T:
            try:
                if not worker:
                    return task()
                with self._joined(reading):
                    return task()
            except BaseException as exc:
                stop(exc)
                raise

        pool = ThreadPoolExecutor(len(tasks) - 1, thread_name_prefix="devdata-job")
        try:
            futures = [pool.submit(run, task, True) for task in tasks[1:]]
            head = run(tasks[0], False)
            return [head, *(future.result() for future in futures)]
        except BaseException as exc:
            stop(exc)
            raise failures[0] from None
        finally:
            pool.shutdown(cancel_futures=True)

    @contextmanager
    def _joined(self, reading: list[BaseDatabaseWrapper]) -> Iterator[None]:
        """This worker thread's own connection, in the snapshot, closed when done."""
        connection = connections[self.database]
        try:
            with transaction.atomic(using=self.database):
                with connection.cursor() as cursor:
                    cursor.execute(_JOIN)
                    cursor.execute("SET TRANSACTION SNAPSHOT %s", [self.exported])
                    # As the main connection's: a plan that scans the table reads it in order.
                    cursor.execute("SET LOCAL synchronize_seqscans = off")
                with self._lock:
                    reading.append(connection)
                yield
        finally:
            connection.close()


def _cancel(connection: BaseDatabaseWrapper) -> None:
    """Cancel the query ``connection`` runs, if any (from any thread)."""
    # Read once: the worker may close its connection meanwhile.
    raw = connection.connection
    try:
        if raw is not None:
            raw.cancel()
    except Exception:  # Lost or closed already: it runs nothing.
        pass


@contextmanager
def open_snapshot(database: str, serializable: bool = False, jobs: int = 1) -> Iterator[Snapshot]:
    """Run the block in one read-only snapshot of ``database``, on its Django connection.

    ``serializable`` asks PostgreSQL for a serializable, deferrable snapshot; other
    databases ignore it (see :func:`serializable_ignored`). Called inside the caller's
    ``transaction.atomic`` (a ``TestCase``, say), the block reads in that transaction
    as it is, seeing its uncommitted rows: no transaction starts inside another.
    ``jobs`` connections share the snapshot where they can (see :func:`jobs_refused`).
    """
    connection = connections[database]
    if connection.in_atomic_block:
        yield Snapshot(database)
        return
    vendor = connection.vendor
    share = jobs > 1 and jobs_refused(database, jobs) is None
    begin = _BEGIN.get((vendor, serializable and vendor == "postgresql"), [])
    # Entering the block connects if need be and starts the transaction (on SQLite with
    # BEGIN, elsewhere at the first statement): what follows opens it.
    try:
        with transaction.atomic(using=database):
            shared = Snapshot(database)
            with connection.cursor() as cursor:
                for statement in begin:
                    cursor.execute(statement)
                if vendor == "postgresql":
                    # A seq scan of a big table may start where another scan of it is
                    # (synchronize_seqscans), so its rows would come in another order on
                    # each run; from the table's first block, they come in the order the
                    # parts of a table split between jobs come in (and every run's file
                    # is the same).
                    cursor.execute("SET LOCAL synchronize_seqscans = off")
                    if share:
                        cursor.execute("SELECT pg_export_snapshot()")
                        shared = Snapshot(database, jobs, cursor.fetchone()[0])
            yield shared
    finally:
        if vendor == "sqlite" and connection.connection is not None:
            # After the transaction: a failed one refuses every statement until it ends.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA query_only = OFF")
