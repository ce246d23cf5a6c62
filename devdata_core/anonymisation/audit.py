"""The leak audit: original values an anonymiser replaced, found elsewhere in the export.

Anonymising ``auth.User.first_name`` does not anonymise the copies an application keeps
of it (a ``search_text`` column, a ``customer_name`` on orders, a name inside a JSON
blob). While the rows are written, every original value an anonymiser replaces is cut
into *terms* and each term remembered as a keyed hash with the field it came from. Once
every row is written, and before the manifest commits the export, the text values of the
columns that were neither anonymised nor :func:`~devdata_core.anonymisers.keep`-ed, and
the strings inside JSON values, are cut into terms the same way and looked up.

Terms, all casefolded: a value, stripped, of at least :data:`MIN_LENGTH` characters; the
emails inside it; and its words (runs of letters and digits with a letter in them) of at
least :data:`MIN_LENGTH` characters. An original gives its words only if it looks like a
name (two to four words of letters), so that a long text or a street address does not
make every "the" or "street" a leak; an exported text gives all of its words. Shorter
words, and numbers, are never terms: too many ordinary words and numbers are that short
or that common. A word of a longer original (a part of a full name) is a finding only
beside another remembered term in the same value: many first names are words too
("Summer", "Grant").

Memory: a term costs 8 bytes (up to 16 between compactions), whatever its length, in
arrays of 64-bit entries sorted per bucket; a value repeated in many rows is held once.
A fixed 1 MiB prefilter, indexed by Python's own string hash, spares most looked-up terms
the keyed hash.
The hash is BLAKE2b keyed with the anonymisation key, so the arrays reveal nothing of
the values. A term that is no original matches one by chance with probability ``n /
2**64`` for ``n`` remembered terms: about 10⁻¹¹ for ten million names, so across a
billion looked-up terms, a finding that is no leak is a one-in-a-hundred event.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import blake2b
from itertools import compress
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import Any

import orjson
from django.apps import apps
from django.db.models import (
    CharField,
    Field,
    GenericIPAddressField,
    JSONField,
    Model,
    TextField,
)

from .. import layout
from ..errors import DataFileError
from ..serialization import Row, decode, exported_fields
from ..settings import DevdataSettings, model_label
from .keyed import Keyed

#: The fewest characters a term (a whole value, or a word) has.
MIN_LENGTH = 4

#: A run of letters and digits; one of digits only (``2024``) is no word.
_WORD = re.compile(rf"[^\W_]{{{MIN_LENGTH},}}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: Two to four words of letters (``Ana-María García``, ``Dr. Jane O'Neil``): a name.
_NAME = re.compile(r"[^\W\d_]+(?:[\s'\u2019.-]+[^\W\d_]+){1,3}\.?")

# An entry is 64 bits: the hash's low 52 bits, then the source field's index in 11 bits
# and whether the term is a word of a longer original;
# its top 12 bits choose the bucket, so that every bit of the hash is compared.
_SOURCE_BITS = 12
#: Marks a word of a longer original (a part of a name), in the source's bits.
_PART = 1 << (_SOURCE_BITS - 1)
_LOW_BITS = 52
_SOURCE_MASK = (1 << _SOURCE_BITS) - 1
_LOW_MASK = (1 << _LOW_BITS) - 1
_BUCKETS = 1 << (64 - _LOW_BITS)
#: Entries a bucket takes before its first compaction (sorting, duplicates dropped).
_FIRST_COMPACTION = 64
#: Slots of the prefilter (a byte each, 1 MiB), which spares most looked-up terms their
#: keyed hash.
_PREFILTER_SLOTS = 1 << 20
_SLOT = (_PREFILTER_SLOTS - 1).__and__
_NONE: list[int] = []
#: Text values remembered lately that a repeat is recognised among (about 0.5 MiB).
_RECENT = 8192
#: Bytes of export lines whose strings are looked up together.
_BATCH_BYTES = 1 << 16


def terms(text: str, every_word: bool) -> list[str]:
    """The terms of ``text`` (some maybe twice): all its words if ``every_word``, else
    only a name's."""
    whole, words = split(text, every_word)
    return whole + words


def split(text: str, every_word: bool) -> tuple[list[str], list[str]]:
    """The terms of ``text``: the whole value and its emails, and its words (all of them
    if ``every_word``, else only a name's)."""
    text = text.strip().casefold()
    whole = [text] if len(text) >= MIN_LENGTH else []
    if "@" in text:
        whole += _EMAIL.findall(text)
    # A text of one word is its only term.
    words = (
        [word for word in _WORD.findall(text) if not word.isdigit()]
        if not text.isalnum() and (every_word or _NAME.fullmatch(text))
        else []
    )
    return whole, words


def strings(value: Any) -> Iterator[str]:
    """The strings of a value: itself, or those nested in a JSON value (keys included)."""
    if isinstance(value, str):
        yield value
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _decoded(lines: list[bytes]) -> list[Row]:
    """Export lines as rows (blank lines left out)."""
    try:
        return list(map(orjson.loads, lines))
    except orjson.JSONDecodeError:
        return [decode(line, exact=False) for line in lines if line.strip()]


def _values_pattern(columns: list[Field]) -> re.Pattern[bytes] | None:
    """A pattern that finds the values of text ``columns`` in export lines, as JSON (a
    superset where another key has one of their names); ``None`` with a JSON column."""
    if any(isinstance(f, JSONField) for f in columns):
        return None
    names = b"|".join(re.escape(("pk" if f.primary_key else f.name).encode()) for f in columns)
    return re.compile(rb'"(?:' + names + rb')"\s*:\s*("[^"\\]*(?:\\.[^"\\]*)*"|null)')


def _texts(rows: list[Row], named: list[tuple[str, str, bool]]) -> list[str]:
    """The strings in the columns ``named`` of ``rows``."""
    texts: list[str] = []
    for _, name, primary in named:
        values = (
            map(itemgetter("pk"), rows)
            if primary
            else map(methodcaller("get", name), map(itemgetter("fields"), rows))
        )
        for value in values:
            if type(value) is str:
                texts.append(value)
            elif value is not None:
                texts.extend(strings(value))
    return texts


class Originals:
    """Keyed 64-bit hashes of the terms of replaced values, each with its source field."""

    def __init__(self, key: bytes) -> None:
        #: The audit's own key, derived from the anonymisation key.
        self._key = Keyed(key, "devdata.leak-audit").digest(b"key", 32)
        self._buckets = [array("Q") for _ in range(_BUCKETS)]
        self._compact_at = [_FIRST_COMPACTION] * _BUCKETS
        #: A slot per term, chosen by Python's own string hash (keyed at random per process,
        #: cached in the string): an empty slot says a term is no original, at the cost of
        #: an index. Past a few million terms most slots are taken and more terms get to
        #: the keyed hash; the answer stays exact.
        self.prefilter = bytearray(_PREFILTER_SLOTS)

    def add(self, term: str, source: int) -> None:
        self.prefilter[_SLOT(hash(term))] = 1
        hashed = self._hash(term)
        index = hashed >> _LOW_BITS
        bucket = self._buckets[index]
        bucket.append((hashed & _LOW_MASK) << _SOURCE_BITS | source)
        if len(bucket) >= self._compact_at[index]:
            self._compact(index)

    def _hash(self, term: str) -> int:
        return int.from_bytes(blake2b(term.encode(), key=self._key, digest_size=8).digest(), "big")

    def _compact(self, index: int) -> None:
        """Sort a bucket and drop its duplicates; it may then grow to twice its size."""
        bucket = array("Q", sorted(set(self._buckets[index])))
        self._buckets[index] = bucket
        self._compact_at[index] = max(2 * len(bucket), _FIRST_COMPACTION)

    def seal(self) -> None:
        """Compact every bucket: :meth:`sources` needs them sorted."""
        for index in range(_BUCKETS):
            self._compact(index)

    def __len__(self) -> int:
        """Distinct (term, source) pairs, once sealed."""
        return sum(map(len, self._buckets))

    def sources(self, term: str) -> list[int]:
        """The source fields ``term`` was remembered from (none if it was not)."""
        if not self.prefilter[_SLOT(hash(term))]:
            return _NONE
        hashed = self._hash(term)
        bucket = self._buckets[hashed >> _LOW_BITS]
        low = hashed & _LOW_MASK
        index = bisect_left(bucket, low << _SOURCE_BITS)
        found = []
        while index < len(bucket) and bucket[index] >> _SOURCE_BITS == low:
            found.append(bucket[index] & _SOURCE_MASK)
            index += 1
        return found


@dataclass(frozen=True)
class Finding:
    """A column holding values anonymised elsewhere."""

    #: ``app_label.ModelName.field``.
    column: str
    #: The anonymised fields its values came from, ``app_label.ModelName.field``.
    sources: tuple[str, ...]
    #: Rows of the column holding at least one.
    rows: int

    def message(self) -> str:
        by_model: dict[str, list[str]] = {}
        for source in self.sources:
            label, _, field = source.rpartition(".")
            by_model.setdefault(label, []).append(field)
        where = ", ".join(f"{label}.{'/'.join(fields)}" for label, fields in by_model.items())
        return (
            f"audit: {self.column} holds values anonymised in {where} in {self.rows:,} "
            f"row{'' if self.rows == 1 else 's'}"
        )

    def record(self) -> dict[str, Any]:
        return {"column": self.column, "sources": list(self.sources), "rows": self.rows}


@dataclass(frozen=True)
class AuditResult:
    """What the audit of one export found, as the manifest records it."""

    #: Distinct terms of replaced values remembered (a term of two fields counts twice).
    terms: int
    #: Columns whose values were looked up.
    columns: int
    findings: tuple[Finding, ...]

    def record(self) -> dict[str, Any]:
        return {
            "status": "findings" if self.findings else "clean",
            "terms": self.terms,
            "columns": self.columns,
            "findings": [finding.record() for finding in self.findings],
        }


#: The manifest's record of an export made with the audit turned off.
OFF: dict[str, Any] = {"status": "off"}

#: Fields whose values may be copies of personal text.
_TEXT_FIELDS = (CharField, TextField, GenericIPAddressField)


class LeakAudit:
    """The audit of one export: :meth:`remember` while writing, :meth:`check` at the end."""

    def __init__(self, settings: DevdataSettings) -> None:
        self.settings = settings
        self.originals = Originals(settings.anonymisation_key)
        self._sources: dict[tuple[type[Model], str], int] = {}
        self._names: list[str] = []
        #: Python's hashes of (field, value) of text values remembered lately, so that a
        #: value repeated in many rows (a first name, a town) is cut and hashed once.
        self._recent: set[int] = set()

    def remember(self, model: type[Model], field: str, original: Any) -> None:
        """Remember an original value an anonymiser replaced (``Anonymisation``'s
        ``on_replaced``); values that hold no text (numbers, keys) are not remembered."""
        source = self._sources.get((model, field))
        if source is None:
            # Past 2,047 anonymised fields, the last index names the rest together.
            source = self._sources[model, field] = min(len(self._names), _PART - 1)
            if source == len(self._names):
                last = source == _PART - 1
                self._names.append("other fields" if last else f"{model_label(model)}.{field}")
        if type(original) is str:
            recent = hash((source, original))
            if recent in self._recent:
                return
            if len(self._recent) >= _RECENT:
                self._recent.clear()
            self._recent.add(recent)
        add = self.originals.add
        for text in (original,) if type(original) is str else strings(original):
            whole, words = split(text, every_word=False)
            for term in set(whole):
                add(term, source)
            for term in set(words) - set(whole):
                add(term, source | _PART)

    def check(self, root: Path) -> AuditResult:
        """Look up every text value of the export at ``root`` that may hold a copy."""
        self.originals.seal()
        # Per column: the rows holding a remembered term, and the fields it came from.
        tally: dict[str, tuple[int, set[int]]] = {}
        checked = 0
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            try:
                model = apps.get_model(directory.name)
            except (LookupError, ValueError):
                continue
            columns = self.columns(model)
            if not columns or not self._names:
                continue
            checked += len(columns)
            label = model_label(model)
            named = [(f"{label}.{f.name}", f.name, f.primary_key) for f in columns]
            pattern = _values_pattern(columns)
            for path in sorted(directory.glob(f"*{layout.DATA_SUFFIX}")):
                self._check_file(path, named, pattern, tally)
        findings = tuple(
            Finding(
                column=column,
                sources=tuple(sorted(self._names[s] for s in sources)),
                rows=count,
            )
            for column, (count, sources) in sorted(tally.items())
        )
        return AuditResult(terms=len(self.originals), columns=checked, findings=findings)

    def _check_file(
        self,
        path: Path,
        named: list[tuple[str, str, bool]],
        pattern: re.Pattern[bytes] | None,
        tally: dict[str, tuple[int, set[int]]],
    ) -> None:
        """Look up the values of the columns ``named`` in one data file: a batch of lines
        at once, and row by row only where the batch holds a remembered term.

        With a ``pattern`` (no JSON column) a batch's values are cut out of its lines,
        not decoded with the rest of each row.
        """
        try:
            with path.open("rb") as f:
                while lines := f.readlines(_BATCH_BYTES):
                    rows = None
                    if pattern is not None:
                        found = pattern.findall(b"".join(lines))
                        texts = [v for v in orjson.loads(b"[" + b",".join(found) + b"]") if v]
                    else:
                        rows = _decoded(lines)
                        texts = _texts(rows, named)
                    if self._may_hold(texts):
                        for row in rows if rows is not None else _decoded(lines):
                            self._check_row(row, named, tally)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataFileError(f"{path}: cannot read ({exc}); export again") from None

    def _check_row(
        self, row: Row, named: list[tuple[str, str, bool]], tally: dict[str, tuple[int, set[int]]]
    ) -> None:
        fields = row["fields"]
        for column, name, primary in named:
            value = row["pk"] if primary else fields.get(name)
            if value is not None and (found := self._look_up(value)):
                count, sources = tally.get(column, (0, set()))
                tally[column] = (count + 1, sources | found)

    def _may_hold(self, texts: list[str]) -> bool:
        """Whether any of ``texts`` may hold a remembered term: the terms of all of them
        cut out in a few calls, and each distinct one looked up once."""
        joined = "\n".join(texts).casefold()
        candidates = set(map(str.strip, map(str.casefold, texts)))
        candidates.update(word for word in set(_WORD.findall(joined)) if not word.isdigit())
        if "@" in joined:
            candidates.update(_EMAIL.findall(joined))
        # Most candidates stop here, in C: their slot in the prefilter is empty.
        ordered = list(candidates)
        taken = map(self.originals.prefilter.__getitem__, map(_SLOT, map(hash, ordered)))
        sources = self.originals.sources
        return any(sources(term) for term in compress(ordered, taken) if len(term) >= MIN_LENGTH)

    def _look_up(self, value: Any) -> set[int]:
        """The sources of the remembered terms in ``value``.

        A word of a longer original (a part of a full name) counts only beside another
        term: a tag "summer" is no copy of a customer called Summer Smith; "Smith, Summer" is.
        """
        found: set[int] = set()
        parts: dict[str, set[int]] = {}
        sources = self.originals.sources
        for text in (value,) if type(value) is str else strings(value):
            for term in terms(text, every_word=True):
                for source in sources(term):
                    if source & _PART:
                        parts.setdefault(term, set()).add(source & ~_PART)
                    else:
                        found.add(source)
        if len(parts) > 1 or (parts and found):
            found.update(*parts.values())
        return found

    def columns(self, model: type[Model]) -> list[Field]:
        """The fields of ``model`` that may hold copies: text and JSON fields that were
        neither anonymised nor kept, and are no reference or choice from a fixed list."""
        settled = set(self.settings.anonymisers_for(model))
        fields = exported_fields(model)
        pk = model._meta.pk
        if pk not in fields:
            fields = [pk, *fields]
        return [
            f
            for f in fields
            if f.name not in settled
            and not f.is_relation
            and not f.choices
            and isinstance(f, (*_TEXT_FIELDS, JSONField))
        ]
