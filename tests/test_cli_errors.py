"""Bad input gets one clear error with the place and the fix, the right exit code, and changes nothing on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Runner


def snapshot(project: Path) -> dict[str, object]:
    """What a failed command must leave untouched: the lock bytes and the environment's generation."""
    lock = project / "kmodels.lock"
    link = project / ".kmenv" / "models"
    return {
        "lock": lock.read_bytes() if lock.exists() else None,
        "generation": os.readlink(link) if link.is_symlink() else None,
    }


def instance_doc(example: Path, handle: str) -> Path:
    index = json.loads((example.parent / "registry" / "index.json").read_text())
    entry = next(i for i in index["instances"] if i["handle"] == handle)
    return example.parent / "registry" / entry["document"]


def test_bad_yaml_names_file_line_and_column(example: Path, kmenv: Runner) -> None:
    (example / "kmodels.yaml").write_text("version: 1\nmodels:\n  bert: [unclosed\n")
    result = kmenv("-C", example, "install")
    assert result.code == 2
    assert "kmodels.yaml:" in result.err and "Traceback" not in result.err
    assert not (example / "kmodels.lock").exists()


def test_every_spec_problem_is_reported_at_once(example: Path, kmenv: Runner) -> None:
    (example / "kmodels.yaml").write_text(
        "version: 1\nmodels:\n"
        "  a: acme/x/transfomers/v\n"
        "  b:\n    handle: acme/y/keras/v\n    version: '~=2.0'\n"
        "  c: {hadle: acme/z}\n"
    )
    result = kmenv("-C", example, "lock")
    assert result.code == 2
    assert "4 problems" in result.err  # c lacks handle and has an unknown key
    assert "models.a" in result.err and "transformers" in result.err
    assert "models.b.version" in result.err
    assert "models.c" in result.err and "handle" in result.err


def test_a_corrupt_lock_is_refused_and_left_alone(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    lock = example / "kmodels.lock"
    lock.write_text(lock.read_text()[:-40])
    before = snapshot(example)
    result = kmenv("-C", example, "install", "--locked")
    assert result.code == 2
    assert "kmodels.lock:" in result.err and "not valid JSON" in result.err
    assert snapshot(example) == before


def test_a_registry_document_breaking_its_schema_is_bad_input(example: Path, kmenv: Runner) -> None:
    doc = instance_doc(example, "kmenv-examples/tiny-bert/transformers/base")
    data = json.loads(doc.read_text())
    data["versions"][0]["files"][0]["sha256"] = "not-a-digest"
    doc.write_text(json.dumps(data))
    result = kmenv("-C", example, "lock")
    assert result.code == 2  # bad input from the registry, like a bad lock
    assert "sha256" in result.err and doc.name in result.err
    assert not (example / "kmodels.lock").exists()


def test_a_file_missing_from_the_registry_fails_before_anything_switches(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "lock")
    lock = json.loads((example / "kmodels.lock").read_text())
    digest = lock["models"]["bert"]["files"][0]["sha256"]
    blob = example.parent / "registry" / "files" / "sha256" / digest[:2] / digest
    blob.unlink()
    before = snapshot(example)
    result = kmenv("-C", example, "install")
    assert result.code == 5, result.err
    assert "Traceback" not in result.err
    assert snapshot(example) == before
    assert not (example / ".kmenv" / "models").exists()


def test_a_hash_mismatch_is_an_integrity_error_and_nothing_is_stored(
    example: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    kmenv("-C", example, "lock")
    lock = json.loads((example / "kmodels.lock").read_text())
    entry = lock["models"]["bert"]["files"][0]
    digest = entry["sha256"]
    blob = example.parent / "registry" / "files" / "sha256" / digest[:2] / digest
    blob.chmod(0o644)
    blob.write_bytes(b"x" * entry["size"])  # same size, other bytes
    result = kmenv("-C", example, "install")
    assert result.code == 6, result.err
    assert digest in result.err
    assert not (isolated_dirs / "cache" / "blobs" / "sha256" / digest[:2] / digest).exists()
    assert not (example / ".kmenv" / "models").exists()


def test_an_unknown_model_is_a_usage_error_with_close_names(example: Path, kmenv: Runner) -> None:
    (example / "kmodels.yaml").write_text(
        "version: 1\nregistries: {example: {url: ../registry}}\n"
        "models:\n  x: kmenv-examples/tiny-brt/transformers/base\n"
    )
    result = kmenv("-C", example, "lock")
    assert result.code == 2
    assert "tiny-bert" in result.err


def test_no_project_is_a_usage_error(tmp_path: Path, kmenv: Runner) -> None:
    result = kmenv("list", cwd=tmp_path)
    assert result.code == 2
    assert "no kmodels.yaml" in result.err and "kmenv init" in result.err


@pytest.mark.parametrize("command", [["why", "nope"], ["path", "nope"]])
def test_unknown_names_are_usage_errors(example: Path, kmenv: Runner, command: list[str]) -> None:
    kmenv("-C", example, "install")
    result = kmenv("-C", example, *command)
    assert result.code == 2
    assert "'nope'" in result.err


def test_bad_flags_are_usage_errors(kmenv: Runner) -> None:
    with pytest.raises(SystemExit) as exit_info:
        kmenv("install", "--no-such-flag")
    assert exit_info.value.code == 2


def test_verbose_shows_the_traceback_only_then(example: Path, kmenv: Runner) -> None:
    (example / "kmodels.yaml").write_text("version: 2\nmodels: {}\n")
    quiet = kmenv("-C", example, "lock")
    loud = kmenv("-v", "-C", example, "lock")
    assert quiet.code == loud.code == 2
    assert "Traceback" not in quiet.err
    assert "Traceback" in loud.err
