"""A read-only shared cache (``KMENV_SHARED_CACHE``) filled by ``kmenv cache export``/``warm``: installs take blobs
from it before downloading, hash each again on the way, and never write to it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import Runner


def _tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``root``: size, mtime and sha256 (a snapshot to prove nothing was written)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _models(project: Path) -> dict[str, bytes]:
    models = project / ".kmenv" / "models"
    return {str(p.relative_to(models)): p.read_bytes() for p in sorted(models.rglob("*")) if p.is_file()}


def _blobs(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "blobs" / "sha256").rglob("*") if p.is_file())


@pytest.fixture
def exported(example: Path, kmenv: Runner, tmp_path: Path) -> Path:
    """The example installed with the default cache, then exported into ``tmp_path/shared``."""
    assert kmenv("-C", example, "install").code == 0
    result = kmenv("-C", example, "cache", "export", tmp_path / "shared", "--json")
    assert result.code == 0, result.err
    done = json.loads(result.out)
    assert (done["blobs"], done["copied"], done["downloaded"]) == (17, 17, 0)
    return tmp_path / "shared"


def _second_machine(example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: Path | str) -> Path:
    """A copy of the project (with its lock, without its environment) on a machine with an empty personal cache."""
    other = tmp_path / "other"
    shutil.copytree(example, other, ignore=shutil.ignore_patterns(".kmenv"))
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "cache-b"))
    monkeypatch.setenv("KMENV_SHARED_CACHE", str(shared))
    return other


def test_install_from_the_shared_cache_alone_is_byte_identical(
    exported: Path, example: Path, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _tree(exported)
    other = _second_machine(example, tmp_path, monkeypatch, exported)
    shutil.rmtree(tmp_path / "registry")  # no registry at all: every byte must come from the shared cache

    result = kmenv("-C", other, "install", "--locked")
    assert result.code == 0, result.err
    assert _models(other) == _models(example)
    assert len(_blobs(tmp_path / "cache-b")) == 17, "copied into the personal store, not linked from the shared one"
    assert _tree(exported) == before, "an install never writes the shared cache"
    assert kmenv("-C", other, "validate").code == 0


def test_a_damaged_shared_blob_is_refused_and_fetched_from_the_registry(
    exported: Path, example: Path, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = max(_blobs(exported), key=lambda p: p.stat().st_size)
    victim.chmod(0o644)
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.write_bytes(bytes(data))  # same size, wrong bytes: only a hash can tell
    before = _tree(exported)
    other = _second_machine(example, tmp_path, monkeypatch, exported)

    result = kmenv("-C", other, "install")
    assert result.code == 0, result.err
    assert "does not hash to its name" in result.err
    assert _models(other) == _models(example)
    good = tmp_path / "cache-b" / "blobs" / "sha256" / victim.name[:2] / victim.name
    assert hashlib.sha256(good.read_bytes()).hexdigest() == victim.name
    assert _tree(exported) == before, "the damaged shared blob is left as it was"


def test_a_damaged_shared_blob_with_no_registry_is_a_clean_error(
    exported: Path, example: Path, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = _blobs(exported)[0]
    victim.chmod(0o644)
    victim.write_bytes(b"x" * victim.stat().st_size)
    other = _second_machine(example, tmp_path, monkeypatch, exported)
    shutil.rmtree(tmp_path / "registry")

    result = kmenv("-C", other, "install", "--locked")
    assert result.code not in (0, 1), result.err
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert lines[0].startswith("warning: shared cache blob") and lines[0].endswith("fetching it from the registry")
    assert lines[1].startswith("error: registry 'example'") and lines[2].startswith("hint:")
    assert not (other / ".kmenv" / "models").exists()


def test_a_missing_shared_folder_is_a_warning_and_the_registry_serves(
    example: Path, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMENV_SHARED_CACHE", str(tmp_path / "not-mounted"))
    result = kmenv("-C", example, "install")
    assert result.code == 0, result.err
    assert "KMENV_SHARED_CACHE" in result.err and "not a folder" in result.err
    assert not (tmp_path / "not-mounted").exists()


@pytest.mark.parametrize(
    ("value", "says"),
    [("relative/dir", "not an absolute path"), ("FILE", "is a file"), ("CACHE", "personal cache itself")],
)
def test_a_bad_shared_cache_value_is_a_usage_error(
    value: str,
    says: str,
    example: Path,
    kmenv: Runner,
    tmp_path: Path,
    isolated_dirs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "a-file").write_text("x")
    shown = {"FILE": str(tmp_path / "a-file"), "CACHE": str(isolated_dirs / "cache")}.get(value, value)
    monkeypatch.setenv("KMENV_SHARED_CACHE", shown)
    result = kmenv("-C", example, "install")
    assert result.code == 2
    assert result.err.startswith("error: KMENV_SHARED_CACHE=") and says in result.err
    assert "Traceback" not in result.err


def test_export_downloads_what_the_personal_cache_lacks_and_is_idempotent(
    example: Path, kmenv: Runner, tmp_path: Path
) -> None:
    assert kmenv("-C", example, "lock").code == 0
    shared = tmp_path / "shared"
    dry = kmenv("-C", example, "cache", "export", shared, "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert (json.loads(dry.out)["copied"], json.loads(dry.out)["downloaded"]) == (17, 17)
    assert not shared.exists(), "a dry run writes nothing"

    first = kmenv("-C", example, "cache", "export", shared)
    assert first.code == 0, first.err
    assert "downloaded 17 files" in first.out and "Copied 17 blobs" in first.out
    for blob in _blobs(shared):
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    again = json.loads(kmenv("-C", example, "cache", "export", shared, "--json").out)
    assert (again["copied"], again["downloaded"]) == (0, 0)


def test_warm_fills_the_shared_cache_and_needs_the_variable(
    example: Path, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kmenv("-C", example, "install").code == 0
    unset = kmenv("-C", example, "cache", "warm")
    assert unset.code == 2 and "KMENV_SHARED_CACHE is not set" in unset.err
    monkeypatch.setenv("KMENV_SHARED_CACHE", str(tmp_path / "team"))
    warm = kmenv("-C", example, "cache", "warm", "--json")
    assert warm.code == 0, warm.err
    assert json.loads(warm.out)["copied"] == 17
    assert len(_blobs(tmp_path / "team")) == 17
