"""`kmenv cache info|list|prune|clean`: what the store holds and who uses it; emptying it leaves projects working."""

from __future__ import annotations

import json
import os
import time
import types
from pathlib import Path

import pytest
from conftest import Runner

from kmenv.store import gc_scan


@pytest.fixture
def installed(example: Path, kmenv: Runner) -> Path:
    assert kmenv("-C", example, "install").code == 0
    return example


def test_info_counts_blobs_environments_and_free_space(installed: Path, kmenv: Runner, isolated_dirs: Path) -> None:
    result = kmenv("cache", "info")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"cache: {isolated_dirs / 'cache'}"
    assert "  blobs:        17 (17.4 KiB)" in lines
    assert "  environments: 1" in lines
    info = json.loads(kmenv("cache", "info", "--json").out)
    assert (info["blobs"], info["blob_bytes"], info["unreferenced_blobs"], info["environments"]) == (17, 17788, 0, 1)
    assert info["free_bytes"] > 0


def test_list_names_the_files_using_each_blob(installed: Path, kmenv: Runner) -> None:
    listed = json.loads(kmenv("cache", "list", "--json").out)["blobs"]
    assert len(listed) == 17
    biggest = listed[0]
    assert biggest["bytes"] == max(b["bytes"] for b in listed)
    assert biggest["used_by"] == [f"{installed / '.kmenv'}: bert/model.safetensors (generation 1)"]
    table = kmenv("cache", "list").out.splitlines()
    assert table[0].split() == ["sha256", "size", "used", "by"]
    assert table[1].endswith("bert/model.safetensors (generation 1)")


def test_prune_deletes_unreferenced_blobs_but_no_generation(
    installed: Path, kmenv: Runner, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gc_scan, "time", types.SimpleNamespace(time=lambda: time.time() + 7200))
    spec = installed / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    kmenv("-C", installed, "install")
    (installed / ".kmenv" / "generations" / "1").rename(installed / ".kmenv" / "generations" / ".1.del.tmp")

    result = kmenv("cache", "prune")
    assert result.code == 0, result.err
    assert "2 unreferenced blobs" in result.out
    assert (installed / ".kmenv" / "generations" / "2").is_dir()
    assert json.loads(kmenv("cache", "info", "--json").out)["blobs"] == 17


def test_clean_empties_the_store_and_installed_files_survive(
    installed: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    cache = isolated_dirs / "cache"
    dry = kmenv("cache", "clean", "--dry-run")
    assert dry.out.startswith("Would delete 19.0 KiB from")  # 17.4 KiB of blobs and their seals (verified/)
    assert "  blobs/       17.4 KiB" in dry.out
    assert (cache / "blobs").is_dir()

    result = kmenv("cache", "clean")
    assert result.code == 0, result.err
    assert sorted(os.listdir(cache)) == ["locks", "roots"]
    assert kmenv("-C", installed, "validate").code == 0, "hard links keep the files"
    installed.joinpath("kmodels.yaml").touch()
    assert kmenv("-C", installed, "install").code == 0


def _two_unreferenced(installed: Path, kmenv: Runner) -> None:
    spec = installed / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv("-C", installed, "install").code == 0
    (installed / ".kmenv" / "generations" / "1").rename(installed / ".kmenv" / "generations" / ".1.del.tmp")


def _pruned_blobs(kmenv: Runner) -> int:
    plan = json.loads(kmenv("cache", "prune", "--dry-run", "--json").out)["plan"]
    return int(plan["summary"].get("blob", {}).get("count", 0))


def test_info_says_why_prune_keeps_unreferenced_blobs_in_their_grace_period(installed: Path, kmenv: Runner) -> None:
    _two_unreferenced(installed, kmenv)
    info = json.loads(kmenv("cache", "info", "--json").out)
    assert info["unreferenced_blobs"] == 2
    assert (info["prunable_blobs"], _pruned_blobs(kmenv)) == (0, 0)
    assert info["held_back"] == {"grace": {"count": 2, "bytes": info["unreferenced_bytes"]}}
    assert info["grace_seconds"] == 3600
    text = kmenv("cache", "info").out.splitlines()
    assert "    `cache prune` deletes 0 (0 B) and keeps:" in text
    assert any(line.startswith("    2 (") and "within the last 1 hour (grace period" in line for line in text)


def test_info_and_prune_agree_once_the_grace_period_is_over(
    installed: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_unreferenced(installed, kmenv)
    monkeypatch.setattr(gc_scan, "time", types.SimpleNamespace(time=lambda: time.time() + 7200))
    info = json.loads(kmenv("cache", "info", "--json").out)
    assert info["unreferenced_blobs"] == info["prunable_blobs"] == _pruned_blobs(kmenv) == 2
    assert info["held_back"] == {}
    assert not any("cache prune" in line for line in kmenv("cache", "info").out.splitlines())


def test_info_names_the_unreadable_root_that_stops_prune(
    installed: Path, kmenv: Runner, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_unreferenced(installed, kmenv)
    monkeypatch.setattr(gc_scan, "time", types.SimpleNamespace(time=lambda: time.time() + 7200))
    garbage = isolated_dirs / "cache" / "roots" / "downloads" / "broken.json"
    garbage.parent.mkdir(parents=True)
    garbage.write_text("{not json")
    info = json.loads(kmenv("cache", "info", "--json").out)
    assert (info["unreferenced_blobs"], info["prunable_blobs"], _pruned_blobs(kmenv)) == (2, 0, 0)
    assert info["held_back"]["unreadable_root"]["count"] == 2
    assert info["unreadable_roots"] == [str(garbage)]
    text = kmenv("cache", "info").out
    assert f"while a root cannot be read ({garbage}; delete it if it is garbage)" in text
