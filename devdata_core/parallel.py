"""Loading export files in worker processes, for ``devdata_import --jobs``.

Decoding and converting rows is Python's work, so threads would share one core: each
worker is a process of its own, started with ``spawn`` (a forked one would share the
parent's database connections), with its own connection to the database being built.
It loads each file in a transaction of its own, as ``pg_restore --jobs`` does: only
safe where a failed import throws that database away (a reset mode that builds beside
the old database and swaps, :mod:`.swap`), so the parent asks for that.

A worker ends when the parent does, even if the parent is killed: it has written only
into the new database, which the next run drops, and it cannot swap it in.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connections, transaction
from django.db.models import Model

from .errors import DevdataError, StrategyError, describe
from .keys import KeySet
from .loading import TableLoader
from .serialization import read_rows
from .settings import model_label


@dataclass(frozen=True)
class Loaded:
    """What a worker reports for one model: plain data, to cross between processes."""

    #: Rows loaded from each of the model's files, in order.
    rows: tuple[int, ...]
    #: The worker's peak memory so far, in KiB (``ru_maxrss`` on Linux).
    peak_rss: int


class Workers:
    """Loads models' export files in ``jobs`` processes into database alias ``database``
    (as its settings are now: pointed at the new database), the models with the most
    rows first; the parent collects each model's result when its turn comes.

    Use it as a context manager: leaving it stops the workers, whatever they are doing.
    """

    def __init__(self, database: str, jobs: int, consequence: str) -> None:
        self.database = database
        self.consequence = consequence
        settings = dict(connections[database].settings_dict)
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(jobs, initializer=_start, initargs=(database, settings))
        self._results: dict[type[Model], AsyncResult] = {}
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
        """Start loading each model's ``(file, rows)``, the biggest models first."""
        for model, paths in sorted(files.items(), key=lambda item: -sum(n for _, n in item[1])):
            self._results[model] = self._pool.apply_async(
                _load,
                (self.database, model_label(model), [p for p, _ in paths], self.consequence),
                callback=self._finished,
                error_callback=self._failed,
            )

    def handles(self, model: type[Model]) -> bool:
        return model in self._results

    def rows(self, model: type[Model]) -> tuple[int, ...]:
        """The rows loaded from each of ``model``'s files, once they are; raises the first
        error any worker had, so that a failure stops the import at once."""
        result = self._results[model]
        while not result.ready() and self._error is None:
            self._changed.wait()
            self._changed.clear()
        if self._error is not None:
            raise self._error
        loaded: Loaded = result.get()
        return loaded.rows

    def wait(self) -> None:
        """Wait until every model handed out is loaded."""
        for model in self._results:
            self.rows(model)

    def _finished(self, loaded: Loaded) -> None:
        self.peak_rss = max(self.peak_rss, loaded.peak_rss)
        self._changed.set()

    def _failed(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._changed.set()


def _start(database: str, settings: dict[str, Any]) -> None:
    """Set up Django in a new worker, its alias pointed where the parent's is."""
    import django

    django.setup()
    connections[database].settings_dict.update(settings)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: multiprocessing.process.BaseProcess) -> None:
    """End this worker when the parent ends, however it ends (a kill -9 included)."""
    parent.join()
    os._exit(1)


def _load(database: str, label: str, paths: list[Path], consequence: str) -> Loaded:
    """Load ``paths`` of model ``label``, each file in a transaction of its own; the
    files share their keys, so a row in two of them is loaded once."""
    model = apps.get_model(label)
    loaded = KeySet(model._meta.pk)
    rows = []
    try:
        for path in paths:
            with transaction.atomic(using=database):
                loader = TableLoader(model, database, path, consequence)
                count, _ = loader.load(read_rows(path, model), loaded, lambda rows: None)
            rows.append(count)
    except DevdataError:
        raise
    except Exception as exc:
        # Its own exception may not cross to the parent: the message does.
        raise StrategyError(
            f"loading {label} in a worker process failed: {describe(exc)}{consequence}"
        ) from None
    return Loaded(tuple(rows), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
