"""`kmenv validate [--repair]`: every difference from the lock in one pass; repair builds a clean generation."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from conftest import Runner


def installed(example: Path, kmenv: Runner) -> Path:
    assert kmenv("-C", example, "install").code == 0
    return example / ".kmenv" / "models"


def replace(path: Path, data: bytes) -> None:
    """Overwrite an installed (read-only, maybe hard-linked) file in place, as a careless tool would."""
    os.chmod(path, 0o644)
    with open(path, "r+b") as out:
        out.write(data)
        out.truncate()


def test_a_clean_environment_validates(example: Path, kmenv: Runner) -> None:
    installed(example, kmenv)
    result = kmenv("-C", example, "validate")
    assert result.code == 0, result.err
    assert result.out.strip().endswith("17 files, 17.4 KiB, all match the lock")


def test_missing_modified_and_extra_files_are_all_reported_with_exit_6(example: Path, kmenv: Runner) -> None:
    models = installed(example, kmenv)
    (models / "bert" / "vocab.txt").unlink()
    config = models / "bert" / "config.json"
    size = config.stat().st_size
    replace(config, b"x" * size)  # same size: only the hash can tell
    replace(models / "iris" / next(p.name for p in (models / "iris").iterdir()), b"short")
    (models / "bert" / "notes.txt").write_text("mine")
    (models / "stray").mkdir()
    (models / "stray" / "a.bin").write_bytes(b"a")

    result = kmenv("-C", example, "validate")
    assert result.code == 6
    lines = result.out.strip().splitlines()
    assert lines[0].endswith("(generation 1): 5 problems")
    assert lines[1] == "  missing: bert/vocab.txt (209 bytes)"
    assert lines[2].startswith("  modified: bert/config.json (sha256 ")
    assert lines[3].startswith("  modified: iris/") and "(5 bytes, locked" in lines[3]
    assert lines[4:] == ["  extra: bert/notes.txt (file)", "  extra: stray (folder)"]
    assert "kmenv validate --repair" in result.err

    as_json = json.loads(kmenv("-C", example, "validate", "--json").out)
    assert as_json["ok"] is False and len(as_json["problems"]) == 5
    assert {p["kind"] for p in as_json["problems"]} == {"missing", "modified", "extra"}


def test_repair_rebuilds_from_the_store_and_refetches_damaged_blobs(
    example: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    models = installed(example, kmenv)
    config = models / "bert" / "config.json"
    original = config.read_bytes()
    sha = hashlib.sha256(original).hexdigest()
    replace(config, b"{}")  # hard-linked: the store's blob is damaged too
    (models / "bert" / "vocab.txt").unlink()

    result = kmenv("-C", example, "validate", "--repair")
    assert result.code == 0, result.err
    assert "Repaired: generation 2 is in use, re-fetched 1 file" in result.out
    assert (models / "bert" / "config.json").read_bytes() == original
    blob = isolated_dirs / "cache" / "blobs" / "sha256" / sha[:2] / sha
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha
    assert kmenv("-C", example, "validate").code == 0
    assert kmenv("-C", example, "install").out.startswith("Environment up to date")


def test_validate_without_an_environment_says_to_install(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "lock").code == 0
    result = kmenv("-C", example, "validate")
    assert result.code == 2
    assert "nothing is installed" in result.err and "kmenv install" in result.err
