"""Writing export files so that an interrupted export never leaves one that looks complete,
and the file locks that keep runs sharing a file from getting in each other's way."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from . import layout


@contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """Write ``path`` through a ``.partial`` file that replaces it only on success.

    The content reaches the disk before the rename, so that after a power cut a file
    under its final name is never shorter than what was written (the manifest, written
    last, would otherwise vouch for data the disk lacks).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + layout.PARTIAL_SUFFIX)
    try:
        with partial.open("w", encoding="utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def sync_directory(path: Path) -> None:
    """Make the names in ``path`` durable: renames and new files survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LockBusy(Exception):
    """Another run holds a lock; ``holder`` is what that run wrote in the lock file."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


@contextmanager
def locked(
    path: Path,
    *,
    shared: bool = False,
    wait: float | None = 0,
    holder: str = "",
    waiting: Callable[[], None] = lambda: None,
) -> Iterator[None]:
    """Hold ``flock`` on ``path``: shared (readers) or exclusive, released when the block
    ends or the process dies.

    The file stays: deleting a lock file another run is about to lock would let two runs
    in. If another run holds it, ``waiting`` is called once, then :class:`LockBusy` is
    raised after ``wait`` seconds (``None``: wait until it is free). ``holder`` is
    written into the file for the next run to name. Opening the file may raise
    ``OSError``.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        if not _try_lock(fd, mode):
            if wait == 0:
                raise LockBusy(_holder(fd))
            waiting()
            if wait is None:
                fcntl.flock(fd, mode)
            else:
                deadline = time.monotonic() + wait
                while not _try_lock(fd, mode):
                    if time.monotonic() >= deadline:
                        raise LockBusy(_holder(fd))
                    time.sleep(0.1)
        if holder:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode(), 0)
        yield
    finally:
        os.close(fd)


def _try_lock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> str:
    return os.pread(fd, 200, 0).decode(errors="replace").strip()
