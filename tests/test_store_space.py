"""Disk space is checked before a byte is downloaded, on the cache's and the environment's filesystems."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner

from kmenv.errors import StorageError
from kmenv.store.blobstore import check_install_space

GiB = 1 << 30


@pytest.fixture
def free_space(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Pretend each filesystem (by st_dev) has the free bytes set in the returned dict (default: plenty)."""
    free: dict[str, int] = {}
    real = shutil.disk_usage

    def disk_usage(path: Any) -> Any:
        usage = real(path)
        return usage._replace(free=free.get("all", usage.free))

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    return free


def test_one_filesystem_with_hard_links_needs_only_the_missing_bytes(
    tmp_path: Path, free_space: dict[str, int]
) -> None:
    free_space["all"] = 3 * GiB
    check_install_space(tmp_path / "cache", tmp_path / "env", missing=2 * GiB, linked=10 * GiB, link_mode="auto")
    with pytest.raises(StorageError, match=rf"needs 4.0 GiB at {tmp_path / 'cache'}, 3.0 GiB free"):
        check_install_space(tmp_path / "cache", tmp_path / "env", missing=2 * GiB, linked=2 * GiB, link_mode="copy")


def test_another_filesystem_means_copies(
    tmp_path: Path, free_space: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_stat = Path.stat

    def stat(self: Path, **kwargs: Any) -> Any:
        result = real_stat(self, **kwargs)
        if self == Path("/"):
            return os.stat_result((*result[:2], result.st_dev + 1, *result[3:]))
        return result

    monkeypatch.setattr(Path, "stat", stat)
    free_space["all"] = 3 * GiB
    env = Path("/") / "nonexistent-kmenv-test" / ".kmenv"  # its nearest existing folder is /, "another device"
    with pytest.raises(StorageError, match=r"needs 5.0 GiB at /nonexistent-kmenv-test/.kmenv, 3.0 GiB free") as caught:
        check_install_space(tmp_path / "cache", env, missing=1 * GiB, linked=5 * GiB, link_mode="auto")
    assert caught.value.hint is not None and "same filesystem" in caught.value.hint


def test_install_fails_early_with_exit_7_and_downloads_nothing(
    example: Path, kmenv: Runner, free_space: dict[str, int], isolated_dirs: Path
) -> None:
    free_space["all"] = 1000
    result = kmenv("-C", example, "install")
    assert result.code == 7
    assert "needs 17.4 KiB at" in result.err and "1000 B free" in result.err
    assert not (isolated_dirs / "cache" / "blobs").exists()
    assert not (example / ".kmenv" / "models").exists()
