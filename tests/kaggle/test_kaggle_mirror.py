"""A Kaggle lock mirrored to a folder: a project reading only the folder locks and installs the same bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from kaggle_emulator import KaggleEmulator
from mirror_checks import kaggle_project, locked_summary
from test_mirror import installed_files

if TYPE_CHECKING:
    import pytest
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture


def test_a_kaggle_lock_mirrored_to_a_folder_installs_without_kaggle(
    emulator: KaggleEmulator, tmp_path: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = kaggle_project(tmp_path / "source", "    type: kaggle")
    assert kmenv("-C", source, "install").code == 0
    mirror = tmp_path / "mirror"
    result = kmenv("-C", source, "mirror", "--to", mirror, "--json")
    assert result.code == 0, result.err
    done = json.loads(result.out)
    assert done["fetched_files"] == 0 and done["blobs_written"] == done["files"] > 0
    assert {v["handle"] for v in done["versions"]} >= {"acme/chat-llm/pyTorch/small-chat"}

    emulator.stop()  # Kaggle is gone, and so is every cached byte
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "fresh-cache"))
    other = kaggle_project(tmp_path / "other", f"    url: {mirror}")
    installed = kmenv("-C", other, "install")
    assert installed.code == 0, installed.err
    assert locked_summary(other) == locked_summary(source)
    assert installed_files(other) == installed_files(source)
    assert kmenv("-C", other, "validate").code == 0
