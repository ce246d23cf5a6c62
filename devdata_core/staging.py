"""Writing an export beside the one it replaces, and swapping it in only when complete.

An export is built in a hidden directory next to ``dest`` (same parent, so renames stay
on one file system) and exchanged with ``dest`` in one step once its manifest is
written: on Linux with ``renameat2(RENAME_EXCHANGE)``; elsewhere by renaming the old
export aside and the new one in, with the aside copy put back by the next run if the
process died in between. A kill at any moment leaves the previous complete export at
``dest``; the next run removes what the killed one left. A lock file beside ``dest``
keeps two exports from writing to one directory at once; a read lock beside it keeps an
export from swapping ``dest`` while an import reads it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from . import files, layout
from .errors import DevdataError

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass
class Stage:
    """The directory an export is written to, and where it goes once complete."""

    path: Path
    #: The export directory, symbolic links resolved.
    dest: Path
    #: The export directory as the user named it, for messages.
    named: Path
    committed: bool = False

    def commit(self, info: Callable[[str], None]) -> None:
        """Put the staged export at ``dest`` in one step, then delete the old one; wait for
        imports reading ``dest`` first (:func:`reading`), saying so through ``info``."""

        def waiting() -> None:
            info(f"waiting for an import reading {self.named} to finish before replacing it")

        for directory, _, _ in os.walk(self.path):
            files.sync_directory(Path(directory))
        with files.locked(_read_lock(self.dest), wait=None, waiting=waiting):
            old = _swap(self.path, self.dest)
            self.committed = True
            files.sync_directory(self.dest.parent)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)

    def shown(self, path: Path) -> Path:
        """``path`` inside the stage as it will be called once the export is in place."""
        try:
            return self.named / Path(path).relative_to(self.path)
        except ValueError:
            return Path(path)

    def log(self, info: Callable[[str], None]) -> Callable[[str], None]:
        """``info`` for strategies and extras: paths in the stage named as they will be."""
        return lambda message: info(message.replace(str(self.path), str(self.named)))


def _hidden(dest: Path, kind: str) -> str:
    return f".{dest.name}.devdata-{kind}"


@contextmanager
def staged(dest: Path) -> Iterator[Stage]:
    """A fresh staging directory for an export to ``dest``, removed unless committed."""
    named = Path(dest)
    # A symbolic link is followed: the export it points at is the one replaced.
    dest = Path(os.path.realpath(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _locked(dest):
        _recover(dest)
        if dest.exists() and not dest.is_dir():
            raise DevdataError(f"{dest} is a file: pass a directory; nothing was written")
        if dest.is_dir() and not _holds_an_export(dest):
            raise DevdataError(
                f"{dest} holds files that are not a devdata export, which an export would "
                "replace: pass a new or empty directory; nothing was written"
            )
        stage = Stage(dest.parent / f"{_hidden(dest, 'staging')}-{os.getpid()}", dest, named)
        stage.path.mkdir()
        try:
            yield stage
        finally:
            if not stage.committed:
                shutil.rmtree(stage.path, ignore_errors=True)


def _holds_an_export(directory: Path) -> bool:
    """Whether ``directory`` is empty or holds only what exports hold, safe to replace.

    Guards against ``devdata_export .`` swapping a project directory away.
    """
    if (directory / layout.MANIFEST).is_file():
        return True
    return all(path.is_dir() or layout.is_export_file(path.name) for path in directory.rglob("*"))


@contextmanager
def _locked(dest: Path) -> Iterator[None]:
    """Hold the lock file beside ``dest``; refuse, naming its pid, if another run holds it."""
    with ExitStack() as held:
        try:
            held.enter_context(
                files.locked(dest.parent / _hidden(dest, "lock"), holder=f"{os.getpid()}\n")
            )
        except files.LockBusy as busy:
            raise DevdataError(
                f"another devdata_export (pid {busy.holder or 'unknown'}) is writing {dest}: "
                "wait for it to finish, or export elsewhere; nothing was written"
            ) from None
        yield


@contextmanager
def reading(src: Path) -> Iterator[None]:
    """Keep an export from being swapped into ``src`` while an import reads it.

    Imports hold the read lock beside ``src`` shared; an export holds it exclusive while it
    swaps and removes the old export. Where the lock file cannot be made (a read-only
    parent, no such directory) no export can swap ``src`` either, and none is held.
    """
    path = _read_lock(Path(os.path.realpath(src)))
    with ExitStack() as held:
        with suppress(OSError):
            held.enter_context(files.locked(path, shared=True, wait=None))
        yield


def _read_lock(dest: Path) -> Path:
    return dest.parent / _hidden(dest, "read-lock")


def _recover(dest: Path) -> None:
    """Remove what killed runs left beside ``dest``; put back an old export set aside."""
    parent = dest.parent
    for path in parent.glob(f"{_hidden(dest, 'staging')}-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in sorted(parent.glob(f"{_hidden(dest, 'old')}-*")):
        if dest.exists():
            shutil.rmtree(path, ignore_errors=True)
        else:
            # Killed between the two renames of the fallback swap: this is the last
            # complete export.
            os.rename(path, dest)


def _swap(new: Path, dest: Path) -> Path | None:
    """Put ``new`` at ``dest``; return where the old export now is (``None`` if none)."""
    if not dest.exists():
        os.rename(new, dest)
        return None
    if _exchange(new, dest):
        return new
    aside = dest.parent / f"{_hidden(dest, 'old')}-{os.getpid()}"
    os.rename(dest, aside)
    try:
        os.rename(new, dest)
    except BaseException:
        os.rename(aside, dest)
        raise
    return aside


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2``); ``False`` if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except AttributeError:  # a C library without it (glibc before 2.28, musl)
        return False
    path, flags = ctypes.c_char_p, ctypes.c_uint
    renameat2.argtypes = [ctypes.c_int, path, ctypes.c_int, path, flags]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def link_or_copy(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` as a hard link, or a copy where links are refused.

    Safe because export files are only ever replaced (:mod:`devdata_core.files`),
    never written in place.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
