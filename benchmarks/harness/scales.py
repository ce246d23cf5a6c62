"""Scales as people write them: ``10k``, ``100k``, ``1M``, or a plain number of order lines."""

from __future__ import annotations

SUFFIXES = {"k": 1_000, "m": 1_000_000}


def parse_scale(text: str) -> int:
    """``10k`` -> 10000; ValueError for anything else than a whole number with k or M."""
    number, multiplier = text.strip(), 1
    if number[-1:].lower() in SUFFIXES:
        number, multiplier = number[:-1], SUFFIXES[number[-1].lower()]
    if not number.isdigit():
        raise ValueError(f"not a scale: {text!r} (write 10k, 100k, 1M or a number)")
    return int(number) * multiplier


def format_scale(scale: int) -> str:
    """10000 -> ``10k``; a number that is no round thousand stays as it is."""
    for suffix, multiplier in (("M", 1_000_000), ("k", 1_000)):
        if scale % multiplier == 0:
            return f"{scale // multiplier}{suffix}"
    return str(scale)
