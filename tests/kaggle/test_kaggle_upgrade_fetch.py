"""Upgrading a Kaggle instance of many files fetches only the files that changed, the archive only when cheaper.

Kaggle's listing has no digests, but each file's download reply names its md5 (``x-goog-hash``) before the body, and
the store's digest index maps md5s it has seen to blobs: a file the store holds costs one reply's headers. So a file
of the same path and size as in an earlier version is counted as its requests, every other file as its bytes too,
and the archive is taken only when it moves fewer. The store's blobs show exactly what was downloaded.
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


SHARD = 256 * 1024  # large enough that one changed file beats the archive by the request cost (REQUEST_BYTES)


def _shards(version: int, changed: range) -> dict[str, bytes]:
    """40 distinct files of 256 KiB; those in ``changed`` differ in this version (same size)."""
    return {f"shard-{i:02d}.bin": bytes([i]) * (SHARD - 1) + bytes([version if i in changed else 0]) for i in range(40)}


def _blobs(cache: Path) -> set[str]:
    return {p.name for p in cache.rglob("*") if p.is_file() and len(p.name) == 64}


def _archives(emulator: KaggleEmulator) -> int:
    return sum(1 for s in emulator.requests_to("DownloadModelInstanceVersion") if s.body and "path" not in s.body)


def test_an_upgrade_that_changes_one_file_of_forty_downloads_that_file_only(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    emulator.add_instance(
        "acme", "wide", "pyTorch", "many", {1: _shards(1, range(0)), 2: _shards(2, range(7, 8))}, license="MIT"
    )
    registry = make_registry(emulator, tmp_path)
    first = registry.files(registry.versions(WIDE)[1])  # version 1: nothing known yet, so the one archive
    assert len(first) == 40 and _archives(emulator) == 1
    blobs_before = _blobs(tmp_path)

    second = make_registry(emulator, tmp_path)
    entries = {e.path: e for e in second.files(second.versions(WIDE)[0])}
    assert _archives(emulator) == 1  # no second archive
    added = _blobs(tmp_path) - blobs_before
    assert added == {entries["shard-07.bin"].sha256}  # only shard-07 came down
    expected = _shards(2, range(7, 8))
    assert all(entries[p].sha256 == hashlib.sha256(b).hexdigest() for p, b in expected.items())
    assert all(set(e.digests) == {"md5"} for e in entries.values())


def test_an_upgrade_that_changes_nearly_every_file_takes_the_archive(emulator: KaggleEmulator, tmp_path: Path) -> None:
    grown = {path: data + b"+" if path != "shard-00.bin" else data for path, data in _shards(2, range(1, 40)).items()}
    emulator.add_instance("acme", "wide", "pyTorch", "many", {1: _shards(1, range(0)), 2: grown}, license="MIT")
    registry = make_registry(emulator, tmp_path)
    registry.files(registry.versions(WIDE)[1])
    entries = registry.files(registry.versions(WIDE)[0])
    assert len(entries) == 40
    assert _archives(emulator) == 2  # 39 files of another size one by one cost more than the whole archive


def test_the_choice_is_by_bytes() -> None:
    files = [RemoteFile(f"f{i}", 1_000_000) for i in range(30)]
    earlier = {f.path: f.size for f in files[:29]}  # every file but f29 looks unchanged
    choice = choose_fetch(files, version_bytes=30_000_000, earlier=earlier)
    assert not choice.archive and len(choice.fetch) == 30  # 30 requests and 1 MB beat 30 MB
    assert choose_fetch(files, version_bytes=30_000_000, earlier={}).archive  # nothing learned before: the archive
    assert choose_fetch(files, version_bytes=30_000_000, earlier={"f0": 1_000_000}).archive  # 29 changed: 29 MB+
    tiny = [RemoteFile(f"t{i}", 100) for i in range(30)]
    same = {f.path: f.size for f in tiny}
    assert choose_fetch(tiny, version_bytes=3_000, earlier=same).archive  # 30 requests cost more than 3 KB
    assert 3_000 + REQUEST_BYTES < 30 * REQUEST_BYTES
