"""Upgrading a Kaggle instance of many files fetches only the files that changed, the archive only when cheaper.

Kaggle's listing has no digests, but each file's md5 is one ranged request away (``x-goog-hash``), and the store's
digest index maps md5s it has seen to blobs. The emulator counts every request, so these tests see exactly what
was downloaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from catalogue import make_registry
from kaggle_emulator import KaggleEmulator

from kmenv.registry.kaggle.archive import REQUEST_BYTES, choose_fetch
from kmenv.registry.kaggle.mapping import RemoteFile
from kmenv.values.handles import Handle

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

WIDE = Handle.parse("acme/wide/pyTorch/many")


def _shards(version: int, changed: range) -> dict[str, bytes]:
    """40 distinct files of 4 KiB; those in ``changed`` differ in this version (same size)."""
    return {f"shard-{i:02d}.bin": bytes([i]) * 4095 + bytes([version if i in changed else 0]) for i in range(40)}


def _archives(emulator: KaggleEmulator) -> int:
    return sum(1 for s in emulator.requests_to("DownloadModelInstanceVersion") if s.body and "path" not in s.body)


def _full_blob_gets(emulator: KaggleEmulator) -> int:
    return sum(1 for s in emulator.requests_to("blob") if "Range" not in s.headers)


def test_an_upgrade_that_changes_one_file_of_forty_downloads_that_file_only(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    emulator.add_instance(
        "acme", "wide", "pyTorch", "many", {1: _shards(1, range(0)), 2: _shards(2, range(7, 8))}, license="MIT"
    )
    registry = make_registry(emulator, tmp_path)
    first = registry.files(registry.versions(WIDE)[1])  # version 1: nothing known yet, so the one archive
    assert len(first) == 40 and _archives(emulator) == 1
    blobs_before = _full_blob_gets(emulator)

    second = make_registry(emulator, tmp_path)
    entries = {e.path: e for e in second.files(second.versions(WIDE)[0])}
    assert _archives(emulator) == 1  # no second archive
    assert _full_blob_gets(emulator) - blobs_before == 1  # only shard-07 came down
    expected = _shards(2, range(7, 8))
    assert all(entries[p].sha256 == hashlib.sha256(b).hexdigest() for p, b in expected.items())
    assert all(set(e.digests) == {"md5"} for e in entries.values())


def test_an_upgrade_that_changes_nearly_every_file_takes_the_archive(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.add_instance(
        "acme", "wide", "pyTorch", "many", {1: _shards(1, range(0)), 2: _shards(2, range(1, 40))}, license="MIT"
    )
    registry = make_registry(emulator, tmp_path)
    registry.files(registry.versions(WIDE)[1])
    blobs_before = _full_blob_gets(emulator)
    entries = registry.files(registry.versions(WIDE)[0])
    assert len(entries) == 40
    assert _archives(emulator) == 2  # 39 changed files one by one cost more than the whole archive
    assert _full_blob_gets(emulator) - blobs_before == 1  # the archive itself


def test_the_choice_is_by_bytes() -> None:
    files = [RemoteFile(f"f{i}", 1000) for i in range(30)]
    earlier = {f.path: f.size for f in files}
    held = {f"md5-f{i}": f"{i:064x}" for i in range(29)}  # every file but f29 is in the store
    choice = choose_fetch(
        files,
        version_bytes=30_000,
        earlier=earlier,
        probe=lambda f: f"md5-{f.path}",
        known=lambda md5, size: held.get(md5),
        workers=4,
    )
    assert [f.path for f in choice.fetch] == ["f29"] and not choice.archive and len(choice.reused) == 29
    assert choice.md5s["f29"] == "md5-f29"  # the download is checked against it, and not probed twice
    nothing_known = choose_fetch(
        files, version_bytes=30_000, earlier={}, probe=lambda f: None, known=lambda m, s: None, workers=4
    )
    assert nothing_known.archive and len(nothing_known.fetch) == 30
    all_changed = choose_fetch(
        files, version_bytes=30_000, earlier=earlier, probe=lambda f: "x", known=lambda m, s: None, workers=4
    )
    assert all_changed.archive  # 30 files one by one: 30,000 bytes plus 30 requests' worth, more than the archive
    assert 30_000 + REQUEST_BYTES < 30 * (1000 + REQUEST_BYTES)
