"""Where an export goes and where it comes from: a directory, an archive file, a pipe, a URL.

The engines read and write a local export directory (:mod:`.exporting`,
:mod:`.importing`); a :class:`Store` hands them one. A directory is used in place (and
staged beside itself, :mod:`.staging`). Every other store is an archive
(:mod:`.archives`): the export is written to a private temporary directory, then packed
and sent, and an import unpacks and verifies the archive into one before the engine
sees it. :func:`open_store` picks the store from what the user typed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from django.core.files import File
from django.core.files.storage import InvalidStorageError, storages

from . import archives, files, layout
from .archives import Format
from .errors import ConfigError, DataFileError, DevdataError, RemoteError, describe
from .reporting import Reporter

#: The format of an archive streamed to stdout when ``--format`` does not say.
STREAM_FORMAT: Format = "tar.gz"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: fsspec file systems with directories of their own, which a file's parent must exist in.
_DIRECTORY_PROTOCOLS = frozenset({"file", "local", "sftp", "ssh", "ftp", "smb", "hdfs", "webhdfs"})
#: A URL quoted in an error's text: up to a space, a quote or a bracket.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]]+")
#: Exports under a URL prefix: ``devdata-20261130T071500.123456Z.tar.zst``.
_EXPORT_PREFIX = "devdata-"
_EXPORT_NAME = re.compile(rf"{_EXPORT_PREFIX}\d{{8}}T\d{{6}}\.\d{{6}}Z\.tar(?:\.gz|\.zst)?")


def is_remote(spec: str) -> bool:
    """Whether ``spec`` is a URL (``scheme://...``) rather than a local path."""
    return bool(_URL.match(spec))


class Store(ABC):
    """Where an export goes or comes from."""

    #: How messages name it: a path, ``stdin``/``stdout``, a URL without credentials.
    name: str
    #: Whether an export may keep files of the previous one (``--no-update``, some models).
    rewritable = False
    #: Whether the export is written to stdout, which must then carry nothing else.
    uses_stdout = False
    #: Whether :meth:`reading` has checked every file's checksum against the manifest
    #: into a directory no one else may write, so the import need not hash them again.
    verifies = False

    @abstractmethod
    def writing(self) -> AbstractContextManager[Path]:
        """Context manager: a local directory for the export engine to write, put in its
        place only when the block ends without error."""

    @abstractmethod
    def reading(self) -> AbstractContextManager[Path]:
        """Context manager: a local directory holding the export; an archive's members
        are checked against its manifest before the block starts."""

    def owning_stdout(self) -> AbstractContextManager[None]:
        """Context manager: the block's writes to stdout go elsewhere where the export
        itself goes there (:class:`Pipe`)."""
        return nullcontext()

    @contextmanager
    def naming(self, local: Path, reporter: Reporter) -> Iterator[None]:
        """Errors and messages that name files in ``local`` (where an archive was
        unpacked) name them inside the archive instead:
        ``shop.tar.gz/polls.Choice/all.jsonl:17: ...``."""
        try:
            with reporter.renaming(str(local), self.name):
                yield
        except DevdataError as exc:
            message = str(exc)
            if str(local) not in message:
                raise
            raise type(exc)(message.replace(str(local), self.name)) from exc


class Directory(Store):
    """An export directory, written and read in place."""

    rewritable = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    @contextmanager
    def writing(self) -> Iterator[Path]:
        yield self.path

    @contextmanager
    def reading(self) -> Iterator[Path]:
        yield self.path


class Archive(Store):
    """An export as one archive, staged in a local temporary directory (as large as the
    export unpacked) on either side."""

    verifies = True

    def __init__(self, name: str, fmt: Format | None) -> None:
        self.name = name
        self.format = fmt

    @abstractmethod
    def _sink(self) -> AbstractContextManager[IO[bytes]]:
        """Context manager: a binary stream that becomes the archive when the block ends
        without error, and leaves any previous archive in place otherwise."""

    @abstractmethod
    def _source(self) -> AbstractContextManager[IO[bytes]]:
        """Context manager: the archive as a binary stream."""

    @contextmanager
    def writing(self) -> Iterator[Path]:
        with _scratch("export") as scratch:
            work = Path(scratch) / "export"
            yield work
            with self._sink() as out:
                archives.pack(work, out, self.format or STREAM_FORMAT)

    @contextmanager
    def reading(self) -> Iterator[Path]:
        with _scratch("import") as scratch:
            # A directory inside the scratch one: the import's read lock, made beside it,
            # goes with the scratch directory.
            export = Path(scratch) / "export"
            export.mkdir()
            self._fetch(export)
            yield export

    def _fetch(self, into: Path) -> None:
        """Unpack the archive into the empty directory ``into``, verified."""
        with self._source() as raw:
            fmt, stream = archives.open_sniffed(raw)
            # Compressed streams say so in their first bytes; without such bytes the
            # name's format, if any, is what the user expected.
            archives.unpack(
                stream, self.format if fmt == "tar" and self.format else fmt, into, self.name
            )


class ArchiveFile(Archive):
    """A local archive file, replaced in one rename once the new one is complete."""

    def __init__(self, path: Path, fmt: Format | None) -> None:
        super().__init__(str(path), fmt)
        self.path = path

    @contextmanager
    def writing(self) -> Iterator[Path]:
        if self.format is None:
            raise ConfigError(
                f"{self.path} is a file: name an archive .tar, .tar.gz or .tar.zst, pass "
                "--format, or export to a directory; nothing was written"
            )
        if self.path.is_dir():
            raise ConfigError(
                f"{self.path} is a directory: name an archive file, or leave out --format; "
                "nothing was written"
            )
        with super().writing() as work:
            yield work

    @contextmanager
    def _sink(self) -> Iterator[IO[bytes]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        hidden = f".{self.path.name}"
        _remove_stale(self.path.parent, hidden)
        partial = self.path.with_name(f"{hidden}.{os.getpid()}{layout.PARTIAL_SUFFIX}")
        try:
            with partial.open("wb") as out:
                yield out
                archives.sync(out)
            os.replace(partial, self.path)
            files.sync_directory(self.path.parent)
        finally:
            partial.unlink(missing_ok=True)

    @contextmanager
    def _source(self) -> Iterator[IO[bytes]]:
        if not self.path.exists():
            raise DataFileError(
                f"{self.path} does not exist: run devdata_export first, or pass the export's "
                "directory or archive"
            )
        with self.path.open("rb") as raw:
            yield raw


@contextmanager
def _scratch(kind: str) -> Iterator[str]:
    """A private directory in ``TMPDIR`` for an export or import to stage in, named for
    this process, after removing those of killed runs: a staged export holds a whole
    (anonymised) dataset, which must not pile up."""
    root = Path(tempfile.gettempdir())
    prefix = f"devdata-{kind}-"
    for stale in _of_killed_runs(root.glob(f"{prefix}*-*"), prefix):
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-") as scratch:
        yield scratch


def _remove_stale(directory: Path, hidden: str) -> None:
    """Remove ``.partial`` archives that killed exports left (their process is gone)."""
    partials = directory.glob(f"{hidden}.*{layout.PARTIAL_SUFFIX}")
    for stale in _of_killed_runs(partials, f"{hidden}.", layout.PARTIAL_SUFFIX):
        stale.unlink(missing_ok=True)


def _of_killed_runs(paths: Iterable[Path], head: str, tail: str = "") -> Iterator[Path]:
    """Those of ``paths`` named ``<head><pid>[-...]<tail>`` for a process that is gone."""
    for path in paths:
        pid = path.name[len(head) : len(path.name) - len(tail)].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            yield path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        pass
    return True


class Pipe(Archive):
    """``-``: the archive on stdout (export) or stdin (import).

    While the export runs, file descriptor 1 points at stderr, so that nothing a strategy,
    plugin or progress bar prints can get into the archive; the archive goes to the
    original stdout.
    """

    uses_stdout = True

    def __init__(self, fmt: Format | None) -> None:
        super().__init__("stdout", fmt)
        self._stdout: int | None = None

    @contextmanager
    def owning_stdout(self) -> Iterator[None]:
        if self._stdout is not None:
            yield
            return
        if os.isatty(1):
            raise ConfigError(
                "devdata_export -: stdout is a terminal: pipe it (devdata_export - | "
                "devdata_import - --no-input) or name a file; nothing was written"
            )
        sys.stdout.flush()
        self._stdout = os.dup(1)
        os.dup2(2, 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(self._stdout, 1)
            os.close(self._stdout)
            self._stdout = None

    @contextmanager
    def writing(self) -> Iterator[Path]:
        with self.owning_stdout(), super().writing() as work:
            yield work

    @contextmanager
    def _sink(self) -> Iterator[IO[bytes]]:
        assert self._stdout is not None
        with open(self._stdout, "wb", closefd=False) as out:
            yield out

    @contextmanager
    def _source(self) -> Iterator[IO[bytes]]:
        self.name = "stdin"
        if sys.stdin is None or sys.stdin.isatty():
            raise ConfigError(
                "devdata_import -: stdin is a terminal: pipe an export into it "
                "(devdata_export - | devdata_import - --no-input); nothing was changed"
            )
        yield sys.stdin.buffer


class Remote(Archive):
    """An archive under a name somewhere else (a URL, a Django storage), reached through
    a few primitives that subclasses provide.

    A name ending in ``/`` is a prefix: an export writes a new archive under it, named for
    the time (``devdata-<UTC>.tar.zst``), and then removes all but the ``keep`` newest;
    an import loads the newest one that verifies, warning of each newer one that does not
    (or no longer exists), and stops at one it cannot read.
    Since each export gets a new name, one killed half-way never hides the previous one.
    """

    #: What the user should check when the remote side fails, after "check".
    hint = "the name"

    def __init__(
        self,
        shown: str,
        path: str,
        fmt: Format | None,
        keep: int | None,
        warn: Callable[[str], None],
    ) -> None:
        super().__init__(shown, fmt)
        #: How the user named it (without secrets); a prefix ends in ``/``.
        self.shown = shown
        self.prefix = shown.endswith("/")
        self.keep = keep
        self.warn = warn
        if keep is not None and not self.prefix:
            raise ConfigError(
                f"--keep {keep}: {shown} names one archive; end it with / to keep several "
                "exports under it as a prefix; nothing was written"
            )
        self.base = path.rstrip("/")
        #: The archive read or written: the one named, or one under the prefix.
        self.path = self.base

    @abstractmethod
    def _put(self, path: str) -> AbstractContextManager[IO[bytes]]:
        """Context manager: a binary stream that becomes ``path`` when the block ends
        without error."""

    @abstractmethod
    def _get(self, path: str) -> AbstractContextManager[IO[bytes]]:
        """Context manager: ``path`` as a binary stream."""

    @abstractmethod
    def _list(self) -> list[str]:
        """The paths directly under the prefix (none if it does not exist)."""

    @abstractmethod
    def _remove(self, path: str) -> None: ...

    def _choose(self, path: str) -> None:
        """Read or write the archive ``path`` under the prefix."""
        self.path = path
        self.name = self.shown + path[len(self.base) :].lstrip("/")

    @contextmanager
    def _sink(self) -> Iterator[IO[bytes]]:
        if self.prefix:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
            self._choose(f"{self.base}/{_EXPORT_PREFIX}{stamp}.{self.format or STREAM_FORMAT}")
        with self._reaching("write", "nothing was written"), self._put(self.path) as out:
            yield out
        if self.keep is not None:
            with self._reaching("remove older exports beside it", "the export was written"):
                # The new one stays whatever the names of the others say (a clock ahead).
                others = [path for path in self._exports() if path != self.path]
                for old in others[self.keep - 1 :]:
                    self._remove(old)

    @contextmanager
    def _source(self) -> Iterator[IO[bytes]]:
        with self._reaching("read"), self._get(self.path) as raw:
            yield _Reached(raw, self)

    def _fetch(self, into: Path) -> None:
        if not self.prefix:
            super()._fetch(into)
            return
        with self._reaching("read"):
            found = self._exports()
        for path in found:
            self._choose(path)
            try:
                super()._fetch(into)
                return
            except RemoteError:
                raise
            except DataFileError as exc:
                self.warn(f"{exc}; trying the export before it")
                shutil.rmtree(into)
                into.mkdir()
        raise DataFileError(
            f"{self.shown}: no export under this prefix verifies ({len(found)} found): run "
            "devdata_export to it; nothing was changed"
        )

    def _exports(self) -> list[str]:
        """The archives exports wrote under the prefix, newest first."""
        ours = [p for p in self._list() if _EXPORT_NAME.fullmatch(p.rpartition("/")[2])]
        return sorted(ours, reverse=True)

    @contextmanager
    def _reaching(self, verb: str, outcome: str = "nothing was changed") -> Iterator[None]:
        """A failure of the remote side as one line naming the archive, saying ``outcome``.

        The failure's own text goes through :func:`without_secrets_in`: a client's error
        may quote the URL it requested, token and all.
        """
        try:
            yield
        except DevdataError:
            raise
        except Exception as exc:
            if isinstance(exc, FileNotFoundError) and verb == "read":
                raise DataFileError(
                    f"{self.name} does not exist: check {self.hint}, or run devdata_export to "
                    "it first; nothing was changed"
                ) from None
            raise RemoteError(
                f"{self.name}: cannot {verb} ({without_secrets_in(describe(exc))}): check "
                f"{self.hint}; {outcome}"
            ) from None


class _Reached(io.RawIOBase):
    """A remote archive's stream, whose failures while it is read are the remote side's
    too: unpacking would take an ``OSError`` (a connection refused half-way) for a
    damaged archive."""

    def __init__(self, raw: IO[bytes], remote: Remote) -> None:
        self._raw = raw
        self._remote = remote

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._remote._reaching("read"):
            data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Url(Remote):
    """An archive at an fsspec URL (``s3://``, ``gs://``, ``memory://``, ``file://``, ...),
    streamed; credentials and options come from fsspec's usual configuration. It is
    written under a temporary name and moved into place."""

    hint = "the URL and the credentials in the environment"

    def __init__(
        self,
        url: str,
        fmt: Format | None,
        keep: int | None = None,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        fsspec = _fsspec(url)
        shown = without_secrets(url)
        try:
            self.fs, path = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise ConfigError(
                f"{shown}: no file system for this URL ({describe(exc)}): install the "
                'fsspec implementation it names, e.g. pip install "devdata-core[s3]"'
            ) from None
        except Exception as exc:  # file systems that connect as they are made (sftp://)
            raise RemoteError(
                f"{shown}: cannot connect ({without_secrets_in(describe(exc))}): check "
                f"{self.hint}; nothing was changed"
            ) from None
        super().__init__(shown, path, fmt, keep, warn)

    @contextmanager
    def _put(self, path: str) -> Iterator[IO[bytes]]:
        partial = f"{path}.{os.getpid()}{layout.PARTIAL_SUFFIX}"
        if set(_as_tuple(self.fs.protocol)) & _DIRECTORY_PROTOCOLS:
            # Not on object stores: s3fs would create a missing (mistyped) bucket.
            self.fs.makedirs(self.fs._parent(path), exist_ok=True)
        try:
            with self.fs.open(partial, "wb") as out:
                yield out
            self.fs.mv(partial, path)
        finally:
            try:
                if self.fs.exists(partial):
                    self.fs.rm(partial)
            except Exception:  # the original error says more
                pass

    @contextmanager
    def _get(self, path: str) -> Iterator[IO[bytes]]:
        with self.fs.open(path, "rb") as raw:
            yield raw

    def _list(self) -> list[str]:
        self.fs.invalidate_cache(self.base)
        try:
            return [p.rstrip("/") for p in self.fs.ls(self.base, detail=False)]
        except FileNotFoundError:
            return []

    def _remove(self, path: str) -> None:
        self.fs.rm(path)


class DjangoStorage(Remote):
    """An archive under a name in one of Django's ``STORAGES`` (``--storage ALIAS``).

    The Storage API has no streamed writer nor rename: the archive is packed into a
    local temporary file and saved. A storage that will not overwrite a name (Django's
    file system storage) has the old archive deleted first, so a name is briefly missing;
    a prefix, where each export gets a new name, has no such moment.
    """

    def __init__(
        self,
        alias: str,
        name: str,
        fmt: Format | None,
        keep: int | None = None,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        try:
            self.storage = storages[alias]
        except InvalidStorageError:
            raise ConfigError(
                f"--storage {alias}: no such storage in STORAGES: add it, or choose one of "
                f"{', '.join(storages.backends)}; nothing was changed"
            ) from None
        self.hint = f"STORAGES[{alias!r}] and its credentials"
        super().__init__(f"{alias}:{name}", name, fmt, keep, warn)

    @contextmanager
    def _put(self, path: str) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryFile(prefix="devdata-archive-") as out:
            yield out
            out.seek(0)
            spare = None
            if self.storage.exists(path) and self.storage.get_available_name(path) != path:
                # A storage that keeps the old file under its name: the new archive goes
                # beside it first, so that failing to send it leaves the old one, and the
                # old one goes only once a copy of the new one is safe.
                partial = f"{path}.{os.getpid()}{layout.PARTIAL_SUFFIX}"
                spare = self.storage.save(partial, File(out, name=partial))
                self.storage.delete(path)
                out.seek(0)
            saved = self.storage.save(path, File(out, name=path))
            if spare is not None:
                self.storage.delete(spare)
        if saved != path:
            raise DataFileError(
                f"{self.name}: the storage saved the archive as {saved!r}: configure it to "
                "overwrite, or export under a prefix (a name ending in /)"
            )

    @contextmanager
    def _get(self, path: str) -> Iterator[IO[bytes]]:
        with self.storage.open(path, "rb") as raw:
            yield raw

    def _list(self) -> list[str]:
        try:
            _, names = self.storage.listdir(self.base)
        except FileNotFoundError:
            return []
        return [f"{self.base}/{name}" for name in names]

    def _remove(self, path: str) -> None:
        self.storage.delete(path)


def _fsspec(url: str) -> Any:
    try:
        import fsspec
    except ImportError:
        raise ConfigError(
            f'{without_secrets(url)}: URLs need fsspec: pip install "devdata-core[fsspec]" '
            '(or "devdata-core[s3]" for s3://)'
        ) from None
    return fsspec


def without_secrets(url: str) -> str:
    """``url`` for messages: no user, password, query string or fragment (which may hold
    a token). A password may hold an unencoded ``/`` (AWS secret keys do), so what comes
    before the last ``@`` goes if it has a ``:`` or no ``/``."""
    scheme, separator, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if at and (":" in userinfo or "/" not in userinfo):
        rest = host
    return scheme + separator + re.split(r"[?#]", rest, maxsplit=1)[0]


def _as_tuple(protocol: str | tuple[str, ...]) -> tuple[str, ...]:
    return (protocol,) if isinstance(protocol, str) else protocol


def without_secrets_in(text: str) -> str:
    """``text`` with every URL in it :func:`without_secrets`."""
    return _URL_IN_TEXT.sub(lambda match: without_secrets(match[0]), text)


def open_store(
    spec: str,
    fmt: Format | None = None,
    keep: int | None = None,
    warn: Callable[[str], None] = lambda message: None,
    storage: str | None = None,
) -> Store:
    """The store that ``spec`` (a command's ``DEST`` or ``SRC``) names.

    ``-`` is the pipe, ``scheme://`` a URL, a name ending in an archive suffix (or any
    name with ``fmt``) an archive file, and anything else a directory. An import reads
    the format from an archive's first bytes whatever its name says. ``keep`` and
    ``warn`` are for a prefix (see :class:`Remote`); with ``storage``, ``spec`` is a
    name in that Django storage.
    """
    if storage is not None:
        # No format from the name: an export writes the default, an import reads the
        # archive's first bytes.
        fmt = fmt or archives.format_of(spec)
        return DjangoStorage(storage, spec, fmt, keep, warn)
    if keep is not None and not is_remote(spec):
        raise ConfigError(
            f"--keep {keep}: {spec} is not a URL prefix: keep exports under one such as "
            "s3://bucket/devdata/; nothing was written"
        )
    if spec == "-":
        return Pipe(fmt)
    if is_remote(spec):
        fmt = fmt or archives.format_of(urlsplit(spec).path)
        return Url(spec, fmt, keep, warn)
    path = Path(spec)
    fmt = fmt or (None if path.is_dir() else archives.format_of(spec))
    return ArchiveFile(path, fmt) if fmt or path.is_file() else Directory(path)
