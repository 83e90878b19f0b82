"""Sizes as people write them (``20GiB``, ``500 MB``, ``1.5T``), read into bytes for budgets such as ``cache-max``.

Binary units (KiB, MiB, ...) are powers of 1024 and decimal ones (KB, MB, ...) powers of 1000; a bare ``K``/``M``/
``G``/``T`` is binary, as ``du`` and ``ls -h`` print it. Pure: text in, a number or an explanation out.
"""

from __future__ import annotations

import re

__all__ = ["SIZE_HINT", "parse_size"]

_SIZE = re.compile(r"^\s*([0-9]{1,15}(?:\.[0-9]{1,6})?)\s*([A-Za-z]{0,3})\s*$")
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1000,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1000**4,
    "tib": 1024**4,
}
#: What a size looks like, for hints.
SIZE_HINT = "write a number and a unit, e.g. 20GiB, 500MB or 1.5TiB (a bare number is bytes)"


def parse_size(text: str) -> int | None:
    """The bytes ``text`` names, or None when it is no size (the caller words the error and its place)."""
    match = _SIZE.match(text)
    if match is None:
        return None
    unit = _UNITS.get(match.group(2).lower())
    if unit is None:
        return None
    return int(float(match.group(1)) * unit)
