"""Lock staleness against the cases in tests/data/staleness/ (format: tests/data/staleness/README.md).

Staleness is the heart of the lock contract: ``kmenv install`` trusts a lock that is fresh and
re-resolves one that is stale, and ``kmenv lock --check`` fails CI on a stale one. Each case locks a
kmodels.yaml, edits it, and states exactly which reasons the edit gives, or that the lock is still fresh.
The declarations go through the real path (``parse_spec`` then ``declared_inputs``), and the lock
through ``dumps_lock``/``parse_lock``, so a case cannot hold a lock that kmenv would refuse to read.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kmenv.lockfile.document import DeclaredInputs, LockFile, build_lock, dumps_lock, parse_lock, stale_reasons
from kmenv.lockfile.inputs import declared_inputs
from kmenv.policy.table import licence_table
from kmenv.spec.document import parse_spec
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle

CASES = Path(__file__).resolve().parent / "data" / "staleness"
DEFAULT_FILES = ("model.bin",)
DEFAULT_LICENCE = "Apache 2.0"
_KEYS = {"about", "locked", "kmodels.yaml", "edits", "expect"}


@dataclass(frozen=True)
class Case:
    """A lock, the inputs it was made from, today's inputs, and the verdict."""

    name: str
    about: str
    lock: LockFile
    locked_inputs: DeclaredInputs
    inputs: DeclaredInputs
    expect: list[str]


def _text(lines: str | Sequence[str]) -> str:
    return lines if isinstance(lines, str) else "\n".join(lines) + "\n"


def _lines(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else "\n".join(value)


def _edited(text: str, edits: Sequence[Mapping[str, str | Sequence[str]]], where: str) -> str:
    """Apply ``{"replace": ..., "with": ...}`` edits in order; each replaced text must occur exactly once."""
    for edit in edits:
        before, after = _lines(edit["replace"]), _lines(edit["with"])
        found = text.count(before)
        assert found == 1, f"{where}: {before!r} must occur exactly once in the locked kmodels.yaml, found {found}"
        text = text.replace(before, after)
    return text


def _inputs(text: str) -> DeclaredInputs:
    return declared_inputs(parse_spec(text))


def _spdx(published: str | None) -> str | None:
    normalised = licence_table().normalise(published)
    return normalised.text if normalised.status == "ok" else None


def _lock(inputs: DeclaredInputs, models: Mapping[str, Mapping[str, Any]]) -> LockFile:
    """Build the lock from the compact models; ``direct`` and ``required-by`` follow from the inputs and bases."""
    default_registry = next(iter(inputs.registries))
    required_by: dict[str, list[str]] = {}
    for name, model in models.items():
        if "base" in model:
            required_by.setdefault(model["base"], []).append(name)
    chosen = []
    for name, model in models.items():
        declared = inputs.models.get(name)
        license = model.get("license", DEFAULT_LICENCE)
        files = tuple(
            FileEntry(path, 1 + i, f"{i:02x}" * 32) for i, path in enumerate(model.get("files", DEFAULT_FILES))
        )
        candidate = Candidate(
            handle=Handle.parse(model["handle"]),
            registry=model.get("registry", declared.registry if declared else default_registry),
            license=license,
            requires=dict(model.get("requires", {})),
            files=files,
        )
        chosen.append(
            (name, candidate, declared is not None, model.get("base"), required_by.get(name, []), _spdx(license), files)
        )
    return build_lock(inputs, chosen)


@functools.cache
def load(path: Path) -> Case:
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert set(raw) <= _KEYS, f"{path.name}: unknown keys {sorted(set(raw) - _KEYS)}"
    assert ("kmodels.yaml" in raw) != ("edits" in raw), f"{path.name}: give either kmodels.yaml or edits"
    locked_text = _text(raw["locked"]["kmodels.yaml"])
    text = _text(raw["kmodels.yaml"]) if "kmodels.yaml" in raw else _edited(locked_text, raw["edits"], path.name)
    locked_inputs = _inputs(locked_text)
    lock = parse_lock(dumps_lock(_lock(locked_inputs, raw["locked"]["models"])))
    expect = raw["expect"]
    assert expect == "fresh" or isinstance(expect, list), f"{path.name}: expect is 'fresh' or a list of reasons"
    return Case(path.stem, raw["about"], lock, locked_inputs, _inputs(text), [] if expect == "fresh" else expect)


def all_cases() -> list[Path]:
    return sorted(CASES.glob("*.json"))


@pytest.mark.parametrize("path", all_cases(), ids=lambda p: p.stem)
def test_case(path: Path) -> None:
    case = load(path)
    assert path.stem.startswith("fresh-" if not case.expect else "stale-"), "a case's name starts with its verdict"
    assert stale_reasons(case.lock, case.inputs) == case.expect, case.about


@pytest.mark.parametrize("path", all_cases(), ids=lambda p: p.stem)
def test_a_lock_is_fresh_against_the_inputs_it_was_made_from(path: Path) -> None:
    case = load(path)
    assert stale_reasons(case.lock, case.locked_inputs) == []


def test_the_cases_cover_both_verdicts() -> None:
    verdicts = [bool(load(path).expect) for path in all_cases()]
    assert len(verdicts) >= 15
    assert True in verdicts and False in verdicts
