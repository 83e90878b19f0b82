"""Store integrity with hard links: root writes into an installed file (ignoring its read-only mode), which with
hard links is the store's blob. The next project must not get the damaged bytes; ``cache verify`` finds it;
``validate --repair`` mends older generations; ``rollback`` refuses a damaged one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES, Runner

from kmenv.errors import EXIT_INTEGRITY

CONFIG = "bert/config.json"


def _copy_project(tmp_path: Path, name: str) -> Path:
    if not (tmp_path / "registry").exists():
        shutil.copytree(EXAMPLES / "registry", tmp_path / "registry")
    shutil.copytree(EXAMPLES / "quickstart", tmp_path / name, ignore=shutil.ignore_patterns(".kmenv"))
    return tmp_path / name


def _locked_sha(project: Path, rel: str) -> str:
    lock = json.loads((project / "kmodels.lock").read_text())
    model, path = rel.split("/", 1)
    return next(f["sha256"] for f in lock["models"][model]["files"] if f["path"] == path)


def _tamper(path: Path, *, keep_mtime: bool = False) -> None:
    """What root can do to a read-only file: write into it in place (same size), maybe put the mtime back."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    with open(path, "r+b") as out:  # root ignores the 0444 mode
        out.write(data)
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.fixture
def linked(tmp_path: Path, kmenv: Runner) -> Path:
    """The quickstart installed with hard links into the store (the default where possible)."""
    if os.geteuid() != 0:
        pytest.skip("writing into a read-only file needs root (who ignores the mode)")
    project = _copy_project(tmp_path, "a")
    result = kmenv("-C", project, "install", "--link-mode", "hardlink")
    assert result.code == 0, result.err
    return project


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["written", "written-and-mtime-restored"])
def test_a_blob_written_through_a_hard_link_is_fetched_again_for_the_next_project(
    linked: Path, kmenv: Runner, tmp_path: Path, keep_mtime: bool
) -> None:
    installed = linked / ".kmenv" / "models" / CONFIG
    _tamper(installed, keep_mtime=keep_mtime)
    other = _copy_project(tmp_path, "b")
    result = kmenv("-C", other, "install")
    assert result.code == 0, result.err
    assert "modified in place" in result.err and "validate --repair" in result.err
    good = (other / ".kmenv" / "models" / CONFIG).read_bytes()
    assert hashlib.sha256(good).hexdigest() == _locked_sha(other, CONFIG)
    assert kmenv("-C", other, "validate").code == 0
    assert kmenv("-C", linked, "validate").code == EXIT_INTEGRITY  # the first project still holds the damage
    repaired = kmenv("-C", linked, "validate", "--repair")
    assert repaired.code == 0, repaired.err
    assert kmenv("-C", linked, "validate").code == 0


def test_an_untouched_store_is_trusted_without_hashing(
    linked: Path, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seal's point: a second project's install costs one stat per blob, not a read of every byte."""
    import kmenv.store.integrity as integrity

    hashed: list[Path] = []
    real = integrity.hash_file
    monkeypatch.setattr(integrity, "hash_file", lambda path, on_bytes=None: hashed.append(path) or real(path, on_bytes))
    other = _copy_project(tmp_path, "b")
    assert kmenv("-C", other, "install").code == 0
    assert hashed == []
    _tamper(linked / ".kmenv" / "models" / CONFIG)
    third = _copy_project(tmp_path, "c")
    assert kmenv("-C", third, "install").code == 0
    assert [p.name for p in hashed] == [_locked_sha(third, CONFIG)]  # only the blob whose inode changed


def test_cache_verify_finds_reports_and_removes_damage(linked: Path, kmenv: Runner, isolated_dirs: Path) -> None:
    clean = kmenv("cache", "verify")
    assert clean.code == 0 and "17 blobs" in clean.out and "all intact" in clean.out, clean.out
    _tamper(linked / ".kmenv" / "models" / CONFIG, keep_mtime=True)
    sha = _locked_sha(linked, CONFIG)
    found = kmenv("cache", "verify", "--json")
    assert found.code == EXIT_INTEGRITY
    report = json.loads(found.out)
    assert report["ok"] is False and report["blobs"] == 17
    (damaged,) = report["damaged"]
    assert damaged["sha256"] == sha and damaged["action"] == "kept"
    assert any(str(linked / ".kmenv") in user for user in damaged["used_by"])
    text = kmenv("cache", "verify")
    assert text.code == EXIT_INTEGRITY and f"kept: {sha}" in text.out and "--remove" in text.err
    removed = kmenv("cache", "verify", "--remove")
    assert removed.code == EXIT_INTEGRITY and f"removed: {sha}" in removed.out
    assert not (isolated_dirs / "cache" / "blobs" / "sha256" / sha[:2] / sha).exists()
    after = kmenv("cache", "verify")
    assert after.code == 0 and "16 blobs" in after.out
    assert kmenv("-C", linked, "validate", "--repair").code == 0  # fetches it again
    assert kmenv("cache", "verify").code == 0


def test_cache_verify_can_quarantine(linked: Path, kmenv: Runner, isolated_dirs: Path) -> None:
    _tamper(linked / ".kmenv" / "models" / CONFIG)
    sha = _locked_sha(linked, CONFIG)
    result = kmenv("cache", "verify", "--quarantine", "--json")
    assert result.code == EXIT_INTEGRITY
    moved = Path(json.loads(result.out)["damaged"][0]["moved_to"])
    assert moved.parent == isolated_dirs / "cache" / "quarantine" and moved.name.startswith(sha)
    assert hashlib.sha256(moved.read_bytes()).hexdigest() != sha


def _two_generations(project: Path, kmenv: Runner) -> None:
    """Generation 1 with iris version 1, generation 2 with iris version 2; bert shared by both."""
    spec = project / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv("-C", project, "install", "--link-mode", "hardlink").code == 0
    spec.write_text(spec.read_text().replace("logistic-regression@<2", "logistic-regression@>=1,<3"))
    assert kmenv("-C", project, "install", "--link-mode", "hardlink").code == 0


def test_rollback_refuses_a_damaged_generation_and_repair_mends_it(linked: Path, kmenv: Runner) -> None:
    project = linked
    _two_generations(project, kmenv)
    generations = project / ".kmenv" / "generations"
    current = int(os.readlink(project / ".kmenv" / "models").split("/")[1])
    older = current - 1
    # copies make the older generation's file an inode of its own: the store stays intact, the generation not
    target = generations / str(older) / "iris" / "parameters.json"
    data = target.read_bytes()
    target.unlink()
    target.write_bytes(b"X" + data[1:])
    refused = kmenv("-C", project, "rollback")
    assert refused.code == EXIT_INTEGRITY, refused.err
    assert f"generation {older}" in refused.err and "damaged" in refused.err and "validate --repair" in refused.err
    assert f"generation {older}: modified: iris/parameters.json" in refused.err
    assert os.readlink(project / ".kmenv" / "models") == f"generations/{current}"  # nothing switched
    repaired = kmenv("-C", project, "validate", "--repair")
    assert repaired.code == 0, repaired.err
    assert f"mended generation {older}: modified: iris/parameters.json" in repaired.out
    assert target.read_bytes() == data
    rolled = kmenv("-C", project, "rollback")
    assert rolled.code == 0, rolled.err
    assert os.readlink(project / ".kmenv" / "models") == f"generations/{older}"


def test_repair_mends_an_older_generation_sharing_a_damaged_blob(linked: Path, kmenv: Runner) -> None:
    """With hard links the damage is in every generation at once: repair rebuilds the current one (fetching
    the blob again) and mends the older one from the fresh blob."""
    project = linked
    _two_generations(project, kmenv)
    _tamper(project / ".kmenv" / "models" / CONFIG)  # bert is in both generations: the same inode
    current = int(os.readlink(project / ".kmenv" / "models").split("/")[1])
    repaired = kmenv("-C", project, "validate", "--repair", "--json")
    assert repaired.code == 0, repaired.err
    result = json.loads(repaired.out)["repaired"]
    assert result["ok"] is True and result["fetched_files"] == 1
    assert f"generation {current - 1}: modified: {CONFIG}" in result["mended"]
    assert kmenv("-C", project, "rollback").code == 0
    assert kmenv("cache", "verify").code == 0
    good = (project / ".kmenv" / "models" / CONFIG).read_bytes()
    assert hashlib.sha256(good).hexdigest() == _locked_sha(project, CONFIG)


def test_repair_reports_what_it_cannot_mend(linked: Path, kmenv: Runner, isolated_dirs: Path) -> None:
    project = linked
    _two_generations(project, kmenv)
    current = int(os.readlink(project / ".kmenv" / "models").split("/")[1])
    older = project / ".kmenv" / "generations" / str(current - 1) / "iris" / "parameters.json"
    sha = hashlib.sha256(older.read_bytes()).hexdigest()
    _tamper(older)  # iris version 1's blob: only the older generation uses it
    repaired = kmenv("-C", project, "validate", "--repair")
    assert repaired.code == EXIT_INTEGRITY, repaired.err
    assert f"cannot mend generation {current - 1}: modified: iris/parameters.json" in repaired.err
    assert not (isolated_dirs / "cache" / "blobs" / "sha256" / sha[:2] / sha).exists()  # the damaged blob is out
