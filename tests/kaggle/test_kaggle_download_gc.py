"""`kmenv download` folders are GC roots: their blobs stay while the folder exists and go once it is deleted."""

from __future__ import annotations

import json
import shutil
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from kaggle_emulator import KaggleEmulator

from kmenv.store import gc_scan
from kmenv.store.roots import read_download_roots

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

BERT = "keras/bert/keras/bert_tiny_en_uncased"


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """gc sees the clock two hours ahead, so blobs just fetched are past their grace period."""
    monkeypatch.setattr(gc_scan, "time", types.SimpleNamespace(time=lambda: time.time() + 7200))


def blobs_in(cache: Path) -> set[str]:
    return {p.name for p in (cache / "blobs" / "sha256").rglob("*") if p.is_file()}


def test_a_download_keeps_its_blobs_until_its_folder_is_gone(
    emulator: KaggleEmulator, kmenv: Runner, isolated_dirs: Path, tmp_path: Path, later: None
) -> None:
    cache = isolated_dirs / "cache"
    result = kmenv("download", f"{BERT}/1", "--path", tmp_path / "dl", "--json")
    assert result.code == 0, result.err
    (download,) = json.loads(result.out)["downloads"]
    placed = {f["sha256"] for f in download["files"]}
    assert placed and placed <= blobs_in(cache)
    folder = tmp_path / "dl"  # --path DIR: the files in DIR itself
    (root,) = read_download_roots(cache)
    assert root.folder == folder and set(root.files) == {f["path"] for f in download["files"]}

    kept = kmenv("gc")
    assert kept.code == 0, kept.err
    assert kept.out.strip() == "Nothing to delete."
    assert placed <= blobs_in(cache)
    listed = json.loads(kmenv("cache", "list", "--json").out)["blobs"]
    assert all(b["used_by"] and b["used_by"][0].endswith("(download)") for b in listed if b["sha256"] in placed)
    assert json.loads(kmenv("cache", "info", "--json").out)["unreferenced_blobs"] == 0

    shutil.rmtree(tmp_path / "dl")
    dry = kmenv("gc", "--dry-run")
    assert "records of deleted downloads" in dry.out and f"download folder {folder} no longer exists" in dry.out
    gone = json.loads(kmenv("gc", "--json").out)
    assert gone["plan"]["summary"]["download"]["count"] == 1
    assert gone["plan"]["summary"]["blob"]["count"] == len(placed)
    assert not placed & blobs_in(cache)
    assert read_download_roots(cache) == []


def test_downloading_more_files_into_a_folder_keeps_the_earlier_ones_recorded(
    emulator: KaggleEmulator, kmenv: Runner, isolated_dirs: Path, tmp_path: Path, later: None
) -> None:
    assert kmenv("download", BERT, "--file", "config.json", "--path", tmp_path).code == 0
    assert kmenv("download", BERT, "--file", "metadata.json", "--path", tmp_path).code == 0
    (root,) = read_download_roots(isolated_dirs / "cache")
    assert set(root.files) == {"config.json", "metadata.json"}
    assert kmenv("gc").out.strip() == "Nothing to delete."


def test_a_download_folder_that_comes_back_keeps_its_record(
    emulator: KaggleEmulator, kmenv: Runner, isolated_dirs: Path, tmp_path: Path, later: None
) -> None:
    from kmenv.actions.project import environment_at
    from kmenv.store.gc_delete import execute_plan
    from kmenv.store.gc_plan import GcOptions, plan_gc

    cache = isolated_dirs / "cache"
    assert kmenv("download", f"{BERT}/1", "--path", tmp_path / "dl").code == 0
    before = blobs_in(cache)
    shutil.move(tmp_path / "dl", tmp_path / "away")
    plan = plan_gc(gc_scan.scan_cache(cache, open_environment=environment_at), GcOptions())
    assert [d.kind for d in plan.deletions][:1] == ["download"]
    shutil.move(tmp_path / "away", tmp_path / "dl")  # back before gc runs

    result = execute_plan(plan, cache, open_environment=environment_at)
    assert any("the download folder is back" in s for s in result.skipped)
    assert all("a download folder uses it" in s for s in result.skipped[1:])
    assert blobs_in(cache) == before and len(read_download_roots(cache)) == 1
