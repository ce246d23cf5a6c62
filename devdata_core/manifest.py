"""The manifest: the record that makes a directory of files a complete export.

``<dest>/manifest.json`` is written last, once every file is in place, and lists each
file with its size, SHA-256 and (for JSON-lines files) its lines, beside where and how
the export was made. An export with a manifest is complete; the import and
``devdata_import --check`` verify its files against it before anything is dropped.
Exports without one (django-devdata 1.x, earlier devdata) still import, unverified.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import layout
from .errors import DataFileError
from .files import atomic_writer

if TYPE_CHECKING:
    from .settings import DevdataSettings

#: Bumped when the manifest or the export's layout changes incompatibly.
FORMAT_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One file of an export."""

    #: Path inside the export, ``/``-separated: ``auth.User/all.jsonl``.
    name: str
    bytes: int
    sha256: str
    #: Lines of a JSON-lines file (one row each); ``None`` for other files.
    rows: int | None = None


@dataclass(frozen=True)
class Manifest:
    """What an export holds and where it came from; never a value, a password or a key."""

    format_version: int
    #: Versions of devdata-core and of the plugins' distributions, by distribution name.
    versions: dict[str, str]
    #: The source database: ``vendor`` and ``database`` (its name, no host or credentials).
    source: dict[str, str]
    started: str
    finished: str
    #: The settings by name: strategies, anonymised fields, extras (see :func:`fingerprint`).
    settings: dict[str, Any]
    entries: tuple[Entry, ...] = field(default=())
    #: The entry holding the source's migration state (its checksum is the state's digest).
    migrations: str | None = None
    #: What was anonymised and what the leak audit found (:func:`anonymisation`); ``None``
    #: in manifests of exports made before it was recorded.
    anonymisation: dict[str, Any] | None = None

    @property
    def settings_digest(self) -> str:
        return hashlib.sha256(_canonical(self.settings).encode()).hexdigest()

    def to_json(self) -> str:
        data = asdict(self)
        data["settings_digest"] = self.settings_digest
        data["entries"] = [asdict(entry) for entry in self.entries]
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest; raises ``ValueError`` if it is not one this version reads."""
        try:
            data = json.loads(text)
            version = data["format_version"]
            if version != FORMAT_VERSION:
                raise ValueError(f"format version {version!r}, this devdata reads {FORMAT_VERSION}")
            return cls(
                format_version=version,
                versions=dict(data["versions"]),
                source=dict(data["source"]),
                started=str(data["started"]),
                finished=str(data["finished"]),
                settings=dict(data["settings"]),
                migrations=data.get("migrations"),
                anonymisation=data.get("anonymisation"),
                entries=_entries(data["entries"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"missing or malformed {exc}") from None
        except RecursionError:
            raise ValueError("nested too deeply") from None


def _entries(listed: list[dict[str, Any]]) -> tuple[Entry, ...]:
    """The manifest's entries, each a file named once, with counts that are whole numbers."""
    entries = []
    names: set[str] = set()
    for e in listed:
        name, size, rows = e["name"], e["bytes"], e.get("rows")
        if not isinstance(name, str) or name in names:
            raise ValueError(f"entry {name!r} is not a file name listed once")
        for value in (size, rows) if rows is not None else (size,):
            if type(value) is not int or value < 0:
                raise ValueError(f"entry {name!r} has {value!r} where a count belongs")
        names.add(name)
        entries.append(Entry(name=name, bytes=size, sha256=str(e["sha256"]), rows=rows))
    return tuple(entries)


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _name_of(obj: Any) -> str:
    """A class or function by its import path; an instance by its class's."""
    target = obj if hasattr(obj, "__qualname__") else type(obj)
    return f"{target.__module__}.{target.__qualname__}"


def anonymiser_name(anonymiser: Any) -> str:
    """A built-in anonymiser by its factory's import path; others as :func:`_name_of`."""
    made_by = getattr(anonymiser, "made_by", None)
    if made_by:
        return f"{type(anonymiser).__module__}.{made_by}"
    return _name_of(anonymiser).partition(".<locals>")[0]


def fingerprint(settings: DevdataSettings) -> dict[str, Any]:
    """The export's settings by name: strategy classes and names per model, anonymised
    fields and the anonymisers' names, extras. Never values (``const`` arguments, keys)."""
    return {
        "strategies": {
            model._meta.label: [
                {"class": _name_of(s), "name": getattr(s, "name", "")} for s in strategies
            ]
            for model, strategies in sorted(
                settings.strategies.items(), key=lambda item: item[0]._meta.label
            )
        },
        "field_anonymisers": {
            name: anonymiser_name(anonymiser)
            for name, anonymiser in sorted(settings.field_anonymisers.items())
        },
        "model_anonymisers": {
            model._meta.label: {name: anonymiser_name(a) for name, a in sorted(fields.items())}
            for model, fields in sorted(
                settings.model_anonymisers.items(), key=lambda item: item[0]._meta.label
            )
        },
        "extras": [
            {"class": _name_of(e), "name": getattr(e, "name", "")}
            for e in settings.extra_strategies
        ],
    }


# Files -----------------------------------------------------------------------------


def describe_file(root: Path, name: str) -> Entry:
    """The entry of file ``name`` under ``root``: size, SHA-256 and, for ``.jsonl``, lines."""
    digest = hashlib.sha256()
    size = lines = 0
    last = b"\n"
    with (root / name).open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    rows = None
    if name.endswith(".jsonl"):
        rows = lines + (last != b"\n")
    return Entry(name=name, bytes=size, sha256=digest.hexdigest(), rows=rows)


def file_names(root: Path) -> list[str]:
    """Every file under ``root`` but the manifest, as entry names, sorted."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).as_posix() != layout.MANIFEST
    )


def write(root: Path, manifest: Manifest) -> None:
    """Write ``<root>/manifest.json`` through a temporary file, synced before it is renamed."""
    with atomic_writer(root / layout.MANIFEST) as f:
        f.write(manifest.to_json())
        f.flush()
        os.fsync(f.fileno())


def read(src: Path) -> Manifest | None:
    """The manifest of the export at ``src``; ``None`` if it has none."""
    path = src / layout.MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: cannot read ({exc}); export again") from None
    try:
        return Manifest.from_json(text)
    except ValueError as exc:
        raise DataFileError(f"{path}: not a devdata manifest ({exc}); export again") from None


def problem(root: Path, entry: Entry) -> str | None:
    """What is wrong with ``entry``'s file under ``root``, or ``None`` if it matches."""
    path = root / entry.name
    if not path.is_file():
        return f"{path} is missing"
    found = describe_file(root, entry.name)
    if entry.rows is not None and found.rows != entry.rows:
        return f"{path} has {found.rows:,} rows where the manifest lists {entry.rows:,}"
    if found.bytes != entry.bytes:
        return f"{path} has {found.bytes:,} bytes where the manifest lists {entry.bytes:,}"
    if found.sha256 != entry.sha256:
        return f"{path} was changed after the export (its SHA-256 differs from the manifest's)"
    return None


def verify(src: Path, warn: Callable[[str], None], hashed: bool = False) -> Manifest | None:
    """Check every file of the export at ``src`` against its manifest.

    Raises a one-line ``DataFileError`` naming the first file that is missing, not
    listed, truncated or changed. Without a manifest, warns once that the export
    cannot be verified and returns ``None`` (``check_export`` still reads every line).
    ``hashed`` skips reading the files again where they were checked as they were
    written into a private directory (an unpacked archive, :mod:`.archives`).
    """
    if not src.is_dir():
        return None
    manifest = read(src)
    if manifest is None:
        if any(src.iterdir()):
            warn(
                f"{src} has no {layout.MANIFEST} (an export of django-devdata 1.x or of an "
                "earlier devdata): it cannot be verified"
            )
        return None
    listed = {entry.name for entry in manifest.entries}
    extra = [name for name in file_names(src) if name not in listed]
    if extra:
        raise DataFileError(
            f"{src / extra[0]} is not in the export's manifest: remove it, or export again; "
            "nothing was changed"
        )
    for entry in manifest.entries:
        if hashed:
            found = None if (src / entry.name).is_file() else f"{src / entry.name} is missing"
        else:
            found = problem(src, entry)
        if found:
            raise DataFileError(f"{found}: export again; nothing was changed")
    return manifest


def warn_unread(
    src: Path, manifest: Manifest | None, read: Iterable[Path], warn: Callable[[str], None]
) -> None:
    """Warn of data files ``manifest`` lists that an import reading ``read`` leaves out:
    their strategies are not in this project's settings, so their rows would go unseen."""
    if manifest is None:
        return
    names = {Path(path).relative_to(src).as_posix() for path in read}
    for entry in manifest.entries:
        if "/" in entry.name and entry.name not in names:
            warn(f"{src / entry.name} is not imported: no strategy in DEVDATA_STRATEGIES reads it")
