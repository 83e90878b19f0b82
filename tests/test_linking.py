"""Link modes: reflink, hard link or copy, and an ``auto`` that learns what the filesystem can do."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kmenv.config import LINK_MODES, resolve_link_mode
from kmenv.environment.generations import EnvironmentDir
from kmenv.environment.linking import Linker, link_file
from kmenv.errors import UsageError


@pytest.fixture
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "blob"
    path.write_bytes(b"weights" * 100)
    path.chmod(0o444)
    return path


def refuse(err: int, calls: list[str], name: str) -> Any:
    def fail(*args: object) -> None:
        calls.append(name)
        raise OSError(err, os.strerror(err))

    return fail


@pytest.fixture
def no_reflink(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make FICLONE fail as it does on ext4/tmpfs, whatever filesystem the tests run on."""
    calls: list[str] = []
    monkeypatch.setattr(fcntl, "ioctl", refuse(errno.EOPNOTSUPP, calls, "reflink"))
    return calls


def test_hardlink_shares_the_inode(blob: Path, tmp_path: Path) -> None:
    assert link_file(blob, tmp_path / "linked", "hardlink") == "hardlink"
    assert (tmp_path / "linked").stat().st_ino == blob.stat().st_ino


def test_copy_is_a_separate_read_only_file(blob: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copied"
    assert link_file(blob, copy, "copy") == "copy"
    assert copy.stat().st_ino != blob.stat().st_ino
    assert copy.read_bytes() == blob.read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o444


def test_auto_falls_back_and_remembers_what_failed(blob: Path, tmp_path: Path, no_reflink: list[str]) -> None:
    linker = Linker("auto")
    modes = [linker.link(blob, tmp_path / f"f{i}") for i in range(3)]
    assert modes == ["hardlink"] * 3
    assert no_reflink == ["reflink"], "a refused reflink is tried once per run, not once per file"


def test_auto_copies_across_filesystems(
    blob: Path, tmp_path: Path, no_reflink: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "link", refuse(errno.EXDEV, no_reflink, "hardlink"))
    linker = Linker("auto")
    assert [linker.link(blob, tmp_path / f"f{i}") for i in range(2)] == ["copy", "copy"]
    assert no_reflink == ["reflink", "hardlink"]
    assert linker.used == {"copy"}


def test_an_explicit_mode_the_filesystem_refuses_is_a_usage_error(
    blob: Path, tmp_path: Path, no_reflink: list[str]
) -> None:
    with pytest.raises(UsageError, match="cannot reflink") as caught:
        link_file(blob, tmp_path / "f", "reflink")
    assert caught.value.hint is not None and "--link-mode auto" in caught.value.hint
    assert not (tmp_path / "f").exists(), "the half-made target is removed"


def test_reflink_where_supported_is_an_independent_file(blob: Path, tmp_path: Path) -> None:
    """Runs the real FICLONE: a separate inode where the filesystem clones, a clean refusal elsewhere."""
    try:
        mode = link_file(blob, tmp_path / "f", "reflink")
    except UsageError:
        assert not (tmp_path / "f").exists()
        return
    assert mode == "reflink"
    assert (tmp_path / "f").stat().st_ino != blob.stat().st_ino
    assert (tmp_path / "f").read_bytes() == blob.read_bytes()


def test_real_io_trouble_is_not_mistaken_for_a_missing_feature(blob: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(FileExistsError):
        Linker("auto").link(blob, tmp_path / "taken")
    with pytest.raises(FileNotFoundError):
        Linker("auto").link(tmp_path / "no-such-blob", tmp_path / "f")


@pytest.mark.parametrize(
    ("value", "mode"), [(None, "auto"), ("", "auto"), (" HardLink ", "hardlink"), ("copy", "copy")]
)
def test_link_mode_values_are_normalised(value: str | None, mode: str) -> None:
    assert resolve_link_mode(value) == mode


def test_an_unknown_link_mode_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="'symlink' is not one of auto, reflink, hardlink, copy") as caught:
        resolve_link_mode("symlink")
    assert caught.value.hint is not None and all(mode in caught.value.hint for mode in LINK_MODES)


@pytest.mark.parametrize(("mode", "shares_inode"), [("hardlink", True), ("copy", False)])
def test_generations_are_built_in_the_requested_mode(blob: Path, tmp_path: Path, mode: str, shares_inode: bool) -> None:
    env = EnvironmentDir(tmp_path / ".kmenv")
    generation = env.build({"m": [("w.bin", blob)]}, link_mode=mode)
    placed = env.generation_path(generation) / "m" / "w.bin"
    assert (placed.stat().st_ino == blob.stat().st_ino) is shares_inode
