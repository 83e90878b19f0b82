"""A Kaggle API that never stops is refused: endless listings, repeated page tokens, archives without end,
answers and cache entries past their caps. Each ends in one error, quickly, with nothing left in the store."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from catalogue import make_registry
from kaggle_emulator import KaggleEmulator

from kmenv.errors import EXIT_INTEGRITY, EXIT_REGISTRY, EXIT_USAGE, IntegrityError, RegistryError, UsageError
from kmenv.registry.kaggle.auth import find_credentials
from kmenv.registry.kaggle.client import MAX_EMPTY_PAGES
from kmenv.values.handles import Handle

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

CHAT = Handle.parse("acme/chat-llm/pyTorch/small-chat")
SHARDS = Handle.parse("acme/shards/pyTorch/many")
SECONDS = 20.0


def test_a_listing_that_always_points_at_another_page_stops(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("ListModelInstanceVersions", "new_token", times=10**6)
    started = time.monotonic()
    with pytest.raises(RegistryError, match=f"{MAX_EMPTY_PAGES} empty pages in a row") as caught:
        make_registry(emulator, tmp_path).versions(CHAT)
    assert caught.value.exit_code == EXIT_REGISTRY and time.monotonic() - started < SECONDS
    assert len(emulator.requests_to("ListModelInstanceVersions")) == MAX_EMPTY_PAGES


def test_a_repeated_page_token_is_an_error_not_a_short_listing(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("ListModelInstanceVersions", "same_token", times=10**6)
    with pytest.raises(RegistryError, match="sent the same page token twice; stopped after 2 page"):
        make_registry(emulator, tmp_path).versions(CHAT)
    assert len(emulator.requests_to("ListModelInstanceVersions")) == 2


def test_a_listing_past_the_page_cap_stops(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.max_page_size = 2  # 30 files: 15 pages, each with items
    registry = make_registry(emulator, tmp_path)
    registry.client.max_pages = 5
    with pytest.raises(RegistryError, match="more than 5 pages; stopped after 5 page"):
        registry.list_files(SHARDS.with_version(1))
    registry.client.max_pages = 15
    assert len(registry.list_files(SHARDS.with_version(1))) == 30  # at the cap: complete


def test_an_endless_archive_is_refused_past_its_files_and_nothing_is_kept(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    emulator.fault("blob", "endless", path="")  # the archive's blob has no file path
    registry = make_registry(emulator, tmp_path)
    candidate = next(c for c in registry.versions(SHARDS) if c.version == 1)
    started = time.monotonic()
    with pytest.raises(IntegrityError, match=r"\(archive\): the source sent more than [\d,]+ bytes") as caught:
        registry.files(candidate)
    assert caught.value.exit_code == EXIT_INTEGRITY and time.monotonic() - started < SECONDS
    kept = [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size > 64 * 1024]
    assert kept == [], kept  # 30 files of 64 bytes: anything larger is the junk
    assert len(registry.files(candidate)) == 30  # the honest archive still goes through


def test_a_cache_entry_that_is_dev_zero_is_asked_again(emulator: KaggleEmulator, tmp_path: Path) -> None:
    make_registry(emulator, tmp_path).versions(CHAT)
    entries = [p for p in (tmp_path / "http").rglob("*") if p.is_file()]
    assert entries
    for entry in entries:
        entry.unlink()
        entry.symlink_to("/dev/zero")
    before = len(emulator.seen)
    with_deadline = time.monotonic()
    assert [c.version for c in make_registry(emulator, tmp_path).versions(CHAT)] == [2, 1]
    assert len(emulator.seen) > before and time.monotonic() - with_deadline < SECONDS


@pytest.mark.parametrize(
    "make", [lambda p: p.symlink_to("/dev/zero"), lambda p: os.mkfifo(p)], ids=["dev-zero", "fifo"]
)
def test_a_credentials_file_that_is_not_a_file_is_refused_not_waited_on(
    make: Callable[[Path], None], tmp_path: Path
) -> None:
    make(tmp_path / "kaggle.json")
    started = time.monotonic()
    with pytest.raises(UsageError, match=r"it is a (device|named pipe)") as caught:
        find_credentials({"KAGGLE_CONFIG_DIR": str(tmp_path)}, home=tmp_path)
    assert caught.value.exit_code == EXIT_USAGE and time.monotonic() - started < SECONDS
