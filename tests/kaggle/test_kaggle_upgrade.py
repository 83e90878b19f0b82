"""``kmenv upgrade`` against the Kaggle emulator: a dry run reads metadata only and writes nothing but caches."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from kaggle_emulator import KaggleEmulator

from kmenv.ledger.database import read_events

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

SPEC = """\
version: 1
registries:
  kaggle:
    type: kaggle
models:
  chat: acme/chat-llm/pyTorch/small-chat@<2
"""


@pytest.fixture
def project(tmp_path: Path, emulator: KaggleEmulator, kmenv: Runner) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "kmodels.yaml").write_text(SPEC)
    result = kmenv("-C", folder, "install")
    assert result.code == 0, result.err
    return folder


def blobs(isolated_dirs: Path) -> set[str]:
    """The store's blobs (the metadata cache beside them may grow: a dry run may write caches)."""
    found = {p.name for p in (isolated_dirs / "cache").rglob("blobs/sha256/*/*")}
    assert found  # the install stored some
    return found


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of the project except the metadata caches, with its bytes (symlinks as their targets)."""
    found: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(folder))] = os.readlink(path).encode()
        elif path.is_file():
            found[str(path.relative_to(folder))] = path.read_bytes()
    return found


@pytest.mark.parametrize("as_json", [False, True])
def test_dry_run_fetches_no_file_bodies_and_writes_nothing(
    emulator: KaggleEmulator, project: Path, kmenv: Runner, isolated_dirs: Path, as_json: bool
) -> None:
    before = snapshot(project)
    stored = blobs(isolated_dirs)
    downloads = len(emulator.requests_to("DownloadModelInstanceVersion"))
    events = len(read_events(project=project))
    args = ["-C", project, "upgrade", "--latest", "--dry-run", *(["--json"] if as_json else [])]
    result = kmenv(*args)
    assert result.code == 0, result.err
    if as_json:
        plan = json.loads(result.out)
        assert plan["applied"] is False
        assert {m["name"]: (m["old"], m["new"]) for m in plan["moves"]} == {"chat": (1, 2)}
        assert plan["download"] > 0  # the new version's files, sized from the listing
    else:
        assert "  chat: 1 → 2" in result.out
        assert "Download at most " in result.out  # the new files' sha256s stay unknown
        assert "1 new file not hashed" in result.out
        assert result.out.splitlines()[-1] == "Dry run: nothing was changed."
    assert len(emulator.requests_to("DownloadModelInstanceVersion")) == downloads  # no file body asked for
    assert blobs(isolated_dirs) == stored
    assert snapshot(project) == before  # kmodels.yaml, kmodels.lock and the environment untouched
    assert len(read_events(project=project)) == events  # no ledger event


def test_the_real_upgrade_after_a_dry_run_still_moves(emulator: KaggleEmulator, project: Path, kmenv: Runner) -> None:
    assert kmenv("-C", project, "upgrade", "--latest", "--dry-run").code == 0
    result = kmenv("-C", project, "upgrade", "--latest")
    assert result.code == 0, result.err
    lock = json.loads((project / "kmodels.lock").read_text())
    assert lock["models"]["chat"]["version"] == 2
    assert all(len(f["sha256"]) == 64 for f in lock["models"]["chat"]["files"])
    assert (project / ".kmenv" / "models" / "chat" / "adapter.bin").read_bytes() == b"adapter v2" * 20
