"""An export as one tar stream (``.tar``, ``.tar.gz``, ``.tar.zst``), packed and unpacked.

The archive holds the export directory's files with ``manifest.json`` first, so that the
unpacking side knows, before it writes a byte, which members may follow and how large
each is. Unpacking never calls ``tarfile``'s ``extract``: each member is checked
(a plain relative name, a regular file, listed in the manifest, seen once, no larger
than listed) and streamed into the directory with its SHA-256 computed on the way, which
is stricter than the standard library's ``data`` filter. Any fault is a one-line
:class:`~devdata_core.errors.DataFileError` naming the archive, raised before the caller
has touched a database.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
import time
import unicodedata
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, Literal

from . import layout, manifest
from .errors import ConfigError, DataFileError, describe

Format = Literal["tar", "tar.gz", "tar.zst"]
FORMATS: tuple[Format, ...] = ("tar", "tar.gz", "tar.zst")
#: File name endings that make a destination an archive, and the format each stands for.
SUFFIXES: dict[str, Format] = {
    ".tar": "tar",
    ".tar.gz": "tar.gz",
    ".tgz": "tar.gz",
    ".tar.zst": "tar.zst",
    ".tzst": "tar.zst",
}
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
#: A manifest larger than this is not one devdata wrote.
_MANIFEST_LIMIT = 64 << 20
_FAULTS = (tarfile.TarError, EOFError, OSError, zlib.error, ValueError)
#: Extended headers (PAX records, GNU long names) larger than this are not devdata's:
#: tarfile reads one whole before returning its member, and some Python releases parse
#: large ones in quadratic time (CVE-2024-6232).
_HEADER_LIMIT = 4096
_EXTENDED_HEADERS = (
    tarfile.XHDTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)
#: Zero bytes a tar writer may leave after the end-of-archive blocks (record padding).
_PADDING_LIMIT = 2 * tarfile.RECORDSIZE
#: Characters no member name of an export holds: a terminal would act on them in messages.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOT_OURS = "it was not written by devdata_export: do not import it; nothing was changed"


class _Refused(Exception):
    """A tar header devdata_export never writes, refused before tarfile reads it."""


class _Header(tarfile.TarInfo):
    """Member headers, refused before they are read where devdata_export never writes them:
    global PAX headers, sparse members, and extended headers past :data:`_HEADER_LIMIT`."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        kind = self.type
        if kind in (tarfile.XGLTYPE, tarfile.GNUTYPE_SPARSE) or (
            kind in _EXTENDED_HEADERS and self.size > _HEADER_LIMIT
        ):
            raise _Refused(f"a tar header of type {kind!r} ({self.size:,} bytes)")
        return super()._proc_member(tarfile_)  # type: ignore[misc]


def format_of(name: str) -> Format | None:
    """The archive format a file name asks for by its ending, or ``None`` (a directory)."""
    lowered = name.lower()
    for suffix, found in sorted(SUFFIXES.items(), key=lambda item: -len(item[0])):
        if lowered.endswith(suffix):
            return found
    return None


def sniff(head: bytes) -> Format:
    """The format of a stream from its first bytes: gzip, zstd, or else a plain tar."""
    if head.startswith(_GZIP_MAGIC):
        return "tar.gz"
    if head.startswith(_ZSTD_MAGIC):
        return "tar.zst"
    return "tar"


def _zstd() -> Any:
    """The zstd module: the standard library's (Python 3.14) or the ``zstandard`` package."""
    try:
        from compression import zstd  # type: ignore[import-not-found]

        return zstd
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        raise ConfigError(
            ".tar.zst exports need the zstandard package: pip install zstandard, or use "
            "--format tar.gz"
        ) from None
    return zstandard


@contextmanager
def _compressing(out: IO[bytes], fmt: Format) -> Iterator[IO[bytes]]:
    """``out`` behind the compressor of ``fmt``; the compressed stream ends with the block."""
    if fmt == "tar":
        yield out
    elif fmt == "tar.gz":
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as zipped:
            yield zipped  # type: ignore[misc]
    else:
        zstd = _zstd()
        if hasattr(zstd, "ZstdCompressor") and hasattr(zstd.ZstdCompressor, "stream_writer"):
            writer = zstd.ZstdCompressor(level=3).stream_writer(out, closefd=False)
        else:
            writer = zstd.ZstdFile(out, "wb", level=3)
        with writer:
            yield writer


@contextmanager
def _decompressing(raw: IO[bytes], fmt: Format) -> Iterator[IO[bytes]]:
    if fmt == "tar":
        yield raw
    elif fmt == "tar.gz":
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield unzipped  # type: ignore[misc]
    else:
        zstd = _zstd()
        if hasattr(zstd, "ZstdDecompressor") and hasattr(zstd.ZstdDecompressor, "stream_reader"):
            reader = zstd.ZstdDecompressor().stream_reader(
                raw, read_across_frames=True, closefd=False
            )
        else:
            reader = zstd.ZstdFile(raw, "rb")
        with reader:
            yield reader


def pack(root: Path, out: IO[bytes], fmt: Format) -> None:
    """Write the complete export at ``root`` to ``out`` as a ``fmt`` archive, manifest first.

    Only the files the manifest lists are packed (lock files and the like stay behind);
    ``out`` is written front to back, so it may be a pipe.
    """
    found = manifest.read(root)
    if found is None:
        raise DataFileError(f"{root} has no {layout.MANIFEST}: export it again before packing")
    mtime = int(time.time())
    with (
        _compressing(out, fmt) as stream,
        tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in [layout.MANIFEST, *(entry.name for entry in found.entries)]:
            path = root / name
            info = tarfile.TarInfo(name)
            info.size = path.stat().st_size
            info.mtime = mtime
            info.mode = 0o644
            with path.open("rb") as f:
                tar.addfile(info, f)


@contextmanager
def _faults(where: str, fmt: Format) -> Iterator[None]:
    """Reading errors of a damaged archive as one line naming it."""
    faults = (*_FAULTS, _zstd().ZstdError) if fmt == "tar.zst" else _FAULTS
    try:
        yield
    except DataFileError:
        raise
    except _Refused as exc:
        raise DataFileError(f"{where}: {exc}; {_NOT_OURS}") from None
    except faults as exc:
        raise DataFileError(
            f"{where} is not a complete .{fmt} archive ({describe(exc)}): it is truncated or "
            "corrupt; export it again; nothing was changed"
        ) from None


def unpack(raw: IO[bytes], fmt: Format, into: Path, where: str) -> manifest.Manifest:
    """Unpack the archive read from ``raw`` into the empty directory ``into``, verified.

    Every member is checked before it is written and its SHA-256 compared with the
    manifest as it streams; ``where`` names the archive in messages (a path, ``stdin``,
    a URL without credentials). Returns the manifest, every file of which is in ``into``.
    """
    with _faults(where, fmt), ExitStack() as stack:
        stream = stack.enter_context(_decompressing(raw, fmt))
        tar = stack.enter_context(tarfile.open(fileobj=stream, mode="r|", tarinfo=_Header))
        members = iter(tar)
        first = next(members, None)
        if first is None or first.name != layout.MANIFEST or not first.isreg():
            raise DataFileError(
                f"{where} does not start with a devdata {layout.MANIFEST}: it is not an archive "
                "devdata_export wrote; export it again; nothing was changed"
            )
        if first.size > _MANIFEST_LIMIT:
            raise DataFileError(f"{where}: its {layout.MANIFEST} is too large; nothing was changed")
        text = _read_member(tar, first)
        try:
            found = manifest.Manifest.from_json(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DataFileError(
                f"{where}: not a devdata manifest ({exc}); export it again; nothing was changed"
            ) from None
        with _writing_scratch(into):
            (into / layout.MANIFEST).write_bytes(text)
        expected = {entry.name: entry for entry in found.entries}
        seen: set[str] = set()
        for member in members:
            entry = _admit(member, expected, seen, where)
            _copy(tar, member, entry, into, where)
        folded = {unicodedata.normalize("NFC", name).casefold() for name in seen}
        if len(folded) != len(seen):
            raise DataFileError(
                f"{where}: two members differ only in case or Unicode form; {_NOT_OURS}"
            )
        missing = [name for name in expected if name not in seen]
        if missing:
            raise DataFileError(
                f"{where} lacks {missing[0]}, which its manifest lists: the archive is truncated "
                "or incomplete; export it again; nothing was changed"
            )
        # A plain tar ends with zero blocks; reading to the end of the compressed stream
        # catches a damaged tail (a gzip trailer's checksum) too. Past the padding a tar
        # writer leaves, anything is another stream appended: not read to its end.
        tail = stream.read(_PADDING_LIMIT + 1)
        if len(tail) > _PADDING_LIMIT or tail.strip(b"\0"):
            raise DataFileError(f"{where}: data follows the end of the archive; {_NOT_OURS}")
    return found


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    source = tar.extractfile(member)
    assert source is not None  # a regular file
    data = source.read(member.size + 1)
    if len(data) != member.size:
        raise EOFError(f"{member.name} ends early")
    return data


def _admit(
    member: tarfile.TarInfo, expected: dict[str, manifest.Entry], seen: set[str], where: str
) -> manifest.Entry:
    """The manifest entry of ``member``, once it is known to be safe to write."""
    name = member.name
    fix = _NOT_OURS
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or _CONTROL.search(name):
        raise DataFileError(f"{where}: member {name!r} has an absolute or odd path; {fix}")
    if any(part in ("", ".", "..") for part in parts):
        raise DataFileError(f"{where}: member {name!r} points outside the export; {fix}")
    if not member.isreg() or member.sparse is not None:
        kind = (
            "a symbolic link"
            if member.issym()
            else "a hard link"
            if member.islnk()
            else "a device"
            if member.isdev()
            else "a directory"
            if member.isdir()
            else "not a regular file"
        )
        raise DataFileError(f"{where}: member {name!r} is {kind}; {fix}")
    if name in seen or name == layout.MANIFEST:
        raise DataFileError(f"{where}: member {name!r} appears twice; {fix}")
    entry = expected.get(name)
    if entry is None:
        raise DataFileError(f"{where}: member {name!r} is not in its manifest; {fix}")
    if member.size > entry.bytes:
        raise DataFileError(
            f"{where}: member {name!r} holds {member.size:,} bytes where its manifest lists "
            f"{entry.bytes:,}; {fix}"
        )
    seen.add(name)
    return entry


def _copy(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    entry: manifest.Entry,
    into: Path,
    where: str,
) -> None:
    """Stream ``member`` into ``into``, at most ``entry.bytes``, and compare its SHA-256."""
    target = into.joinpath(*member.name.split("/"))
    source = tar.extractfile(member)
    assert source is not None
    digest = hashlib.sha256()
    size = 0
    # "x": a name is written once, and never through something already there (a member
    # whose name differs only in case, on a file system that ignores case).
    try:
        with _writing_scratch(into):
            target.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: a full disk shows in a write below, not in a flush at close.
            out = target.open("xb", buffering=0)
    except FileExistsError:
        raise DataFileError(f"{where}: member {member.name!r} appears twice; {_NOT_OURS}") from None
    with out:
        while chunk := source.read(min(_CHUNK, entry.bytes + 1 - size)):
            size += len(chunk)
            if size > entry.bytes:
                break
            digest.update(chunk)
            with _writing_scratch(into):
                out.write(chunk)
    if size != entry.bytes or digest.hexdigest() != entry.sha256:
        problem = (
            f"holds {size:,} bytes where its manifest lists {entry.bytes:,}"
            if size != entry.bytes
            else "does not match its manifest (its SHA-256 differs)"
        )
        raise DataFileError(
            f"{where}: member {member.name!r} {problem}: the archive is truncated or corrupt; "
            "export it again; nothing was changed"
        )


@contextmanager
def _writing_scratch(into: Path) -> Iterator[None]:
    """A failure to write where the archive is unpacked (a full ``TMPDIR``) as what it is,
    not as a damaged archive, and not one an older export would spare."""
    try:
        yield
    except FileExistsError:
        raise
    except OSError as exc:
        raise ConfigError(
            f"{into}: cannot unpack the export here ({describe(exc)}): free space in TMPDIR "
            "or point it at a larger volume; nothing was changed"
        ) from None


class Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read (to sniff its format), put back."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_sniffed(raw: IO[bytes]) -> tuple[Format, IO[bytes]]:
    """The format of ``raw`` from its magic bytes, and a stream that still starts at them."""
    head = b""
    while len(head) < len(_ZSTD_MAGIC):
        more = raw.read(len(_ZSTD_MAGIC) - len(head))
        if not more:
            break
        head += more
    return sniff(head), io.BufferedReader(Prefixed(head, raw), _CHUNK)


def sync(out: IO[bytes]) -> None:
    """Make what was written to the file ``out`` durable before it is renamed."""
    out.flush()
    os.fsync(out.fileno())
