"""Checking and loading export files in worker processes, for ``devdata_import --jobs``.

Decoding and converting rows is Python's work, so threads would share one core: each
worker is a process of its own, started with ``spawn`` (a forked one would share the
parent's database connections), with its own connection to the database being built.
It loads each file in a transaction of its own, as ``pg_restore --jobs`` does: only
safe where a failed import throws that database away (a reset mode that builds beside
the old database and swaps, :mod:`.swap`), so the parent asks for that.

A worker ends when the parent does, even if the parent is killed: it has written only
into the new database, which the next run drops, and it cannot swap it in.

Checking files before the reset (:func:`check_files`) touches no database: its workers
are forked, so that they start at once, with the settings the parent has.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import resource
import signal
import sys
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connections, transaction
from django.db.models import Model

from . import layout
from .errors import DevdataError, StrategyError, describe
from .keys import KeySet
from .loading import TableLoader, check_file
from .serialization import read_rows
from .settings import model_label

#: How often a wait for a worker's result checks that the workers are alive.
_POLL_SECONDS = 0.5

#: How long a worker waits for a lock on the table it loads (PostgreSQL's interval).
_LOCK_TIMEOUT = "10s"
#: Lines of an export file: all of them (``None``), or a range of line numbers.
Lines = range | None


@dataclass(frozen=True)
class Loaded:
    """What a worker reports for one task: plain data, to cross between processes."""

    #: Rows loaded from each of the task's files (or parts of a file), in order.
    rows: tuple[int, ...]
    #: The worker's peak memory so far, in KiB (``ru_maxrss`` on Linux).
    peak_rss: int


class Workers:
    """Loads models' export files in ``jobs`` processes into database alias ``database``
    (as its settings are now: pointed at the new database), the biggest tasks first;
    the parent collects each model's rows when its turn comes.

    A model's files go to one worker, which loads a row in two of them once; a model's
    only file, if it holds more than a worker's share of all rows, is split into parts
    by lines (a file holds each row once), each loaded by a worker, so that one big
    table does not keep the others waiting. Use it as a context manager: leaving it
    stops the workers, whatever they do.
    """

    def __init__(self, database: str, jobs: int, consequence: str) -> None:
        self.database = database
        self.jobs = jobs
        self.consequence = consequence
        settings = dict(connections[database].settings_dict)
        context = multiprocessing.get_context("spawn")
        before = set(multiprocessing.active_children())
        self._pool = context.Pool(jobs, initializer=_start, initargs=(database, settings))
        #: The workers, which end only with the pool, unless something kills them.
        self._processes = [p for p in multiprocessing.active_children() if p not in before]
        #: Per model, its tasks: which of its files each loads, and its result.
        self._tasks: dict[type[Model], list[tuple[list[int], AsyncResult]]] = {}
        #: The first error a worker raised, as soon as it comes back.
        self._error: BaseException | None = None
        self._changed = threading.Event()
        self.peak_rss = 0

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._pool.terminate()
        self._pool.join()

    def load(self, files: dict[type[Model], Sequence[tuple[Path, int]]]) -> None:
        """Start loading each model's ``(file, rows)``."""
        share = max(1, sum(rows for paths in files.values() for _, rows in paths) / self.jobs)
        tasks: list[tuple[int, type[Model], list[int], list[tuple[Path, Lines]]]] = []
        for model, paths in files.items():
            if len(paths) == 1 and paths[0][0].suffix == layout.DATA_SUFFIX:
                ((path, rows),) = paths
                parts = _parts(rows, min(self.jobs, math.ceil(rows / share)))
                tasks += [(size, model, [0], [(path, lines)]) for size, lines in parts]
            else:
                indexes = list(range(len(paths)))
                rows = sum(n for _, n in paths)
                tasks.append((rows, model, indexes, [(path, None) for path, _ in paths]))
        for _, model, indexes, parts in sorted(tasks, key=lambda task: -task[0]):
            result = self._pool.apply_async(
                _load,
                (self.database, model_label(model), parts, self.consequence),
                callback=self._finished,
                error_callback=self._failed,
            )
            self._tasks.setdefault(model, []).append((indexes, result))

    def handles(self, model: type[Model]) -> bool:
        return model in self._tasks

    @property
    def tasks(self) -> int:
        """How many tasks the models' files made (more than models where files were split)."""
        return sum(len(tasks) for tasks in self._tasks.values())

    def rows(self, model: type[Model]) -> list[int]:
        """The rows loaded from each of ``model``'s files, once they are; raises the first
        error any worker had, so that a failure stops the import at once."""
        files: dict[int, int] = {}
        for indexes, result in self._tasks[model]:
            while not result.ready() and self._error is None:
                self._changed.wait(_POLL_SECONDS)
                self._changed.clear()
                self._check_alive()
            if self._error is not None:
                raise self._error
            loaded: Loaded = result.get()
            for index, rows in zip(indexes, loaded.rows, strict=True):
                files[index] = files.get(index, 0) + rows
        return [files[index] for index in sorted(files)]

    def wait(self) -> None:
        """Wait until every model handed out is loaded."""
        for model in self._tasks:
            self.rows(model)

    def _check_alive(self) -> None:
        """Raise if a worker was killed (by the out-of-memory killer, say) while a task is
        pending: a pool starts another, but the task it had would never finish."""
        for process in self._processes:
            if process.exitcode is not None:
                raise DevdataError(
                    f"a worker process of --jobs {self.jobs} ended (exit code "
                    f"{process.exitcode}: killed, out of memory?); import with fewer jobs"
                    f"{self.consequence}"
                )

    def _finished(self, loaded: Loaded) -> None:
        self.peak_rss = max(self.peak_rss, loaded.peak_rss)
        self._changed.set()

    def _failed(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._changed.set()


def _parts(rows: int, parts: int) -> list[tuple[int, Lines]]:
    """``parts`` ranges of lines of a file of ``rows`` rows, with the rows of each; the
    last takes what follows (the count is of rows: blank lines are not in it)."""
    if parts <= 1:
        return [(rows, None)]
    size = math.ceil(rows / parts)
    starts = [1 + size * part for part in range(parts)]
    ends = [*starts[1:], sys.maxsize]
    return [(size, range(start, end)) for start, end in zip(starts, ends, strict=True)]


def check_files(
    files: Sequence[tuple[type[Model], Path]],
    database: str,
    natural_columns: Mapping[type[Model], Collection[str]],
    jobs: int,
) -> dict[Path, int]:
    """The rows of each of ``files`` (``(model, path)``), every value checked by
    :func:`.loading.check_file`; raises the fault of the first file, and line, that has one.

    With ``jobs`` over 1, where a process can fork, ``jobs`` processes check at once, a
    file of more than their share of lines in parts.
    """

    def natural(model: type[Model]) -> tuple[str, ...]:
        return tuple(natural_columns.get(model._meta.concrete_model, ()))

    if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return {path: check_file(path, model, database, natural(model)) for model, path in files}
    lines = {path: _line_count(path) for _, path in files}
    share = max(1, sum(lines.values()) / jobs)
    counts: dict[Path, int] = {}
    with multiprocessing.get_context("fork").Pool(jobs, initializer=_forked) as pool:
        results = [
            (
                path,
                pool.apply_async(
                    _check, (path, model_label(model), database, natural(model), part)
                ),
            )
            for model, path in files
            for _, part in _parts(lines[path], min(jobs, math.ceil(lines[path] / share)))
        ]
        for path, result in results:
            counts[path] = counts.get(path, 0) + result.get()
    return counts


def _check(path: Path, label: str, database: str, natural: tuple[str, ...], lines: Lines) -> int:
    # By label: a model made for a many-to-many field cannot be pickled.
    return check_file(path, apps.get_model(label), database, natural, lines)


def _line_count(path: Path) -> int:
    """The lines of a ``.jsonl`` file (0 for another: it is not split), read as bytes."""
    if path.suffix != layout.DATA_SUFFIX:
        return 0
    with path.open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))


#: Database connections a forked worker inherited, never closed there: their sockets are
#: the parent's (closing one would end the parent's session).
_inherited: list[Any] = []


def _forked() -> None:
    """Set up a forked checker: signals are the parent's to handle, and a connection it
    opens is its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _inherited.append(connection.connection)
            connection.connection = None


#: Why this worker could not set up Django, if it could not: its tasks say so.
_setup_failed: str | None = None


def _start(database: str, settings: dict[str, Any]) -> None:
    """Set up Django in a new worker, its alias pointed where the parent's is.

    Nothing may escape: a pool starts a worker again whose start fails, for ever.
    Ctrl-C is the parent's to handle; it stops the workers.
    """
    global _setup_failed
    import django

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        django.setup()
        connections[database].settings_dict.update(settings)
    except Exception as exc:
        _setup_failed = describe(exc)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: multiprocessing.process.BaseProcess) -> None:
    """End this worker when the parent ends, however it ends (a kill -9 included)."""
    parent.join()
    os._exit(1)


def _load(database: str, label: str, parts: list[tuple[Path, Lines]], consequence: str) -> Loaded:
    """Load ``parts`` (files, or lines of one) of model ``label``, each in a transaction of
    its own; they share their keys, so a row in two of them is loaded once."""
    if _setup_failed is not None:
        raise StrategyError(
            f"a worker process could not set up Django ({_setup_failed}): is the project's "
            f"settings module in DJANGO_SETTINGS_MODULE? Or import with --jobs 1{consequence}"
        )
    model = apps.get_model(label)
    loaded = KeySet(model._meta.pk)
    rows = []
    try:
        for path, lines in parts:
            with transaction.atomic(using=database):
                with connections[database].cursor() as cursor:
                    # Nothing but the parent's transaction (a hook's lock) can hold a lock
                    # in the new database, and the parent waits for this worker: fail, do
                    # not wait for ever.
                    cursor.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
                loader = TableLoader(model, database, path, consequence)
                read = functools.partial(read_rows, path, model, lines)
                count, _ = loader.load(read(), loaded, lambda rows: None, again=read)
            rows.append(count)
    except DevdataError:
        raise
    except Exception as exc:
        # Its own exception may not cross to the parent: the message does.
        raise StrategyError(
            f"loading {label} in a worker process failed: {describe(exc)}{consequence}"
        ) from None
    return Loaded(tuple(rows), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
