"""The store: blobs become real only after size and every digest are proven; partials resume safely."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kmenv.errors import IntegrityError, StorageError
from kmenv.store.blobstore import BlobWriter, Store, check_free_space
from kmenv.values.candidates import FileEntry

DATA = b"weights " * 4096  # 32 KiB


def entry_for(data: bytes, **overrides: Any) -> FileEntry:
    fields: dict[str, Any] = {"path": "model.bin", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return FileEntry(**{**fields, **overrides})


def writes(*pieces: bytes) -> Callable[[BlobWriter], None]:
    """A producer that appends ``pieces`` to whatever the writer already holds."""

    def produce(writer: BlobWriter) -> None:
        for piece in pieces:
            writer.write(piece)

    return produce


def leftovers(store: Store) -> list[str]:
    return sorted(p.name for p in (store.root / "partial").iterdir())


def test_blob_path_is_content_addressed(store: Store) -> None:
    digest = hashlib.sha256(DATA).hexdigest()
    assert store.blob_path(digest) == store.root / "blobs" / "sha256" / digest[:2] / digest


@pytest.mark.parametrize("digest", ["../../etc/passwd", "ABC", "0" * 63, "0" * 64 + "/x", "G" * 64])
def test_a_digest_that_is_not_sha256_never_becomes_a_path(store: Store, digest: str) -> None:
    with pytest.raises(IntegrityError, match="not a sha256 digest"):
        store.blob_path(digest)


def test_verified_bytes_become_a_read_only_blob(store: Store) -> None:
    entry = entry_for(DATA)
    assert store.ingest(entry, writes(DATA[:1000], DATA[1000:])) is True

    blob = store.blob_path(entry.sha256)
    assert blob.read_bytes() == DATA
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444
    assert store.has(entry)
    assert leftovers(store) == []


def test_a_finished_blob_is_never_rewritten(store: Store) -> None:
    entry = entry_for(DATA)
    store.ingest(entry, writes(DATA))
    inode = store.blob_path(entry.sha256).stat().st_ino

    def must_not_run(writer: BlobWriter) -> None:
        raise AssertionError("the blob exists; nothing should be produced")

    assert store.ingest(entry, must_not_run) is False
    assert store.blob_path(entry.sha256).stat().st_ino == inode


@pytest.mark.parametrize(
    ("produce", "overrides", "message"),
    [
        (writes(DATA[:-1]), {}, rf"model\.bin: size mismatch: expected {len(DATA)} bytes, got {len(DATA) - 1}"),
        (writes(DATA, b"x"), {}, r"model\.bin: size mismatch: expected \d+ bytes, the source sent more"),
        (writes(DATA[:-1] + b"?"), {}, r"model\.bin: sha256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}"),
        (
            writes(DATA),
            {"digests": {"md5": base64.b64encode(hashlib.md5(b"other").digest()).decode()}},
            r"model\.bin: md5 mismatch: expected \S+, got "
            + base64.b64encode(hashlib.md5(DATA).digest()).decode().replace("+", r"\+"),
        ),
    ],
    ids=["too-short", "too-long", "wrong-sha256", "wrong-md5"],
)
def test_mismatched_bytes_never_become_a_blob(
    store: Store, produce: Callable[[BlobWriter], None], overrides: dict[str, Any], message: str
) -> None:
    entry = entry_for(DATA, **overrides)
    with pytest.raises(IntegrityError, match=message) as caught:
        store.ingest(entry, produce)

    assert caught.value.exit_code == 6
    assert not store.blob_path(entry.sha256).exists()
    assert leftovers(store) == [], "the temp file is discarded, not kept for resume"


def test_published_digests_are_checked_in_hex_or_base64_and_unknown_ones_are_skipped(store: Store) -> None:
    md5 = hashlib.md5(DATA)
    entry = entry_for(
        DATA,
        digests={
            "md5": md5.hexdigest(),
            "sha1": base64.b64encode(hashlib.sha1(DATA).digest()).decode(),
            "crc32c": "ignored",
        },
    )
    assert store.ingest(entry, writes(DATA))


def test_the_label_names_the_file_in_errors(store: Store) -> None:
    with pytest.raises(IntegrityError, match=r"^gemma/model\.bin: size mismatch"):
        store.ingest(entry_for(DATA), writes(b""), label="gemma/model.bin")


def test_an_interrupted_write_is_kept_and_resumed_from_its_bytes(store: Store) -> None:
    entry = entry_for(DATA)

    def interrupted(writer: BlobWriter) -> None:
        writer.write(DATA[:5000])
        writer.remember_source(validator='"v1"', accepts_ranges=True)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.ingest(entry, interrupted)
    assert not store.blob_path(entry.sha256).exists()
    assert leftovers(store) == [f"{entry.sha256}.json", f"{entry.sha256}.part"]

    seen: list[tuple[int, str | None, bool | None]] = []

    def resume(writer: BlobWriter) -> None:
        seen.append((writer.offset, writer.validator, writer.accepts_ranges))
        writer.write(DATA[writer.offset :])

    assert store.ingest(entry, resume)
    assert seen == [(5000, '"v1"', True)]
    assert store.blob_path(entry.sha256).read_bytes() == DATA
    assert leftovers(store) == []


def test_a_corrupt_partial_is_caught_by_its_hash_and_retried_once_from_zero(store: Store) -> None:
    entry = entry_for(DATA)
    store.root.joinpath("partial").mkdir(parents=True)
    store.root.joinpath("partial", f"{entry.sha256}.part").write_bytes(b"garbage!" * 10)

    offsets: list[int] = []

    def continue_from_offset(writer: BlobWriter) -> None:
        offsets.append(writer.offset)
        writer.write(DATA[writer.offset :])

    assert store.ingest(entry, continue_from_offset)
    assert offsets == [80, 0]
    assert store.blob_path(entry.sha256).read_bytes() == DATA


def test_a_fresh_download_that_mismatches_is_not_retried(store: Store) -> None:
    calls: list[int] = []

    def wrong(writer: BlobWriter) -> None:
        calls.append(writer.offset)
        writer.write(b"x" * len(DATA))

    with pytest.raises(IntegrityError):
        store.ingest(entry_for(DATA), wrong)
    assert calls == [0]


def test_a_partial_longer_than_the_file_is_dropped(store: Store) -> None:
    entry = entry_for(DATA)
    store.root.joinpath("partial").mkdir(parents=True)
    store.root.joinpath("partial", f"{entry.sha256}.part").write_bytes(DATA + b"tail")
    offsets: list[int] = []

    def produce(writer: BlobWriter) -> None:
        offsets.append(writer.offset)
        writer.write(DATA[writer.offset :])

    assert store.ingest(entry, produce)
    assert offsets == [0]


def test_the_temp_file_of_a_killed_writer_on_this_host_is_adopted(store: Store) -> None:
    entry = entry_for(DATA)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    pid = int(dead.stdout)
    partial = store.root / "partial"
    partial.mkdir(parents=True)
    (partial / f"{entry.sha256}.{os.uname().nodename}-{pid}-0a0b0c0d.tmp").write_bytes(DATA[:700])
    alive = partial / f"{entry.sha256}.{os.uname().nodename}-{os.getpid()}-01020304.tmp"
    alive.write_bytes(b"someone else's")

    offsets: list[int] = []

    def produce(writer: BlobWriter) -> None:
        offsets.append(writer.offset)
        writer.write(DATA[writer.offset :])

    assert store.ingest(entry, produce)
    assert offsets == [700]
    assert alive.exists(), "a live writer's temp file is left alone"


def test_temp_files_are_private_while_written(store: Store) -> None:
    modes: list[int] = []

    def produce(writer: BlobWriter) -> None:
        modes.append(stat.S_IMODE(writer.path.stat().st_mode))
        writer.write(DATA)

    store.ingest(entry_for(DATA), produce)
    assert modes == [0o600]


def test_waiting_for_another_process_lock_can_be_abandoned(store: Store) -> None:
    entry = entry_for(DATA)
    store.root.joinpath("locks").mkdir(parents=True)
    holder = os.open(store.root / "locks" / f"{entry.sha256}.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    polls: list[int] = []

    def poll() -> None:
        polls.append(1)
        if len(polls) == 3:
            raise TimeoutError("gave up")

    try:
        with pytest.raises(TimeoutError):
            store.ingest(entry, writes(DATA), poll=poll)
    finally:
        os.close(holder)
    assert len(polls) == 3
    assert not store.has(entry)


def test_has_checks_size_and_missing_deduplicates(store: Store) -> None:
    present = entry_for(DATA)
    store.ingest(present, writes(DATA))
    absent = entry_for(b"other", path="b.bin")
    same_as_absent = entry_for(b"other", path="copy-of-b.bin")

    assert store.has(present)
    assert not store.has(entry_for(DATA, size=len(DATA) + 1))
    assert store.has_blob(present.sha256, present.size)
    assert store.missing([present, absent, same_as_absent]) == [absent]


def test_free_space_check_names_the_place_and_the_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=512 << 20))
    target = tmp_path / "not-yet" / "cache"
    with pytest.raises(StorageError, match=rf"needs 2.0 GiB at {target}, 512.0 MiB free") as caught:
        check_free_space(target, 2 << 30)
    assert caught.value.hint is not None and "KMENV_CACHE_DIR" in caught.value.hint
    check_free_space(target, 100 << 20)
