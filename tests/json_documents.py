"""Checking what ``--json`` printed: one object of a known kind, valid against its committed schema.

Used by the tests that run every command (``test_json_documents.py`` and the Kaggle one beside the emulator).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@functools.cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((REPO / "schemas" / "output" / f"{kind}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def keys(data: object, where: str = "$") -> Iterator[tuple[str, str]]:
    """Every ``(place, key)`` of every object in ``data``, however deep."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield where, key
            yield from keys(value, f"{where}.{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from keys(value, f"{where}[{index}]")


def document(kind: str, out: str) -> dict[str, Any]:
    """The one JSON document in ``out``, checked against ``schemas/output/<kind>.schema.json``."""
    data = json.loads(out)  # refuses a second document after the first
    assert isinstance(data, dict), f"{kind}: the root is {type(data).__name__}, not an object"
    errors = _validator(kind).iter_errors(data)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in errors]
    assert not problems, f"{kind} breaks its schema:\n" + "\n".join(problems[:20])
    spelt = [f"{place}.{key}" for place, key in keys(data) if "licence" in key]
    assert not spelt, f"{kind}: keys spell licence, not license: {spelt}"
    return data
