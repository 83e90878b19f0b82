"""The store's digest index: sources that publish only md5 (Kaggle) find blobs already in the store."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest

from kmenv.errors import IntegrityError
from kmenv.store.blobstore import BlobWriter, Store, canonical_digest
from kmenv.values.candidates import FileEntry

DATA = b"tokenizer " * 3000
SHA = hashlib.sha256(DATA).hexdigest()
MD5_B64 = base64.b64encode(hashlib.md5(DATA).digest()).decode()  # as Kaggle and GCS send it
MD5_HEX = hashlib.md5(DATA).hexdigest()


def writes(data: bytes) -> Callable[[BlobWriter], None]:
    def produce(writer: BlobWriter) -> None:
        writer.write(data[writer.offset :])

    return produce


def test_canonical_digest_reads_hex_and_base64_alike() -> None:
    assert canonical_digest("md5", MD5_B64) == MD5_HEX
    assert canonical_digest("MD5", MD5_HEX.upper()) == MD5_HEX
    assert canonical_digest("md5", "not a digest!") is None
    assert canonical_digest("md5", base64.b64encode(b"short").decode()) is None, "wrong length for md5"
    assert canonical_digest("crc32c", "AAAAAA==") == "00000000", "unknown algorithms keep their raw bytes"


def test_a_recorded_digest_finds_its_blob_in_either_encoding(store: Store) -> None:
    store.ingest(FileEntry("vocab.txt", len(DATA), SHA), writes(DATA))
    assert store.lookup_digest("md5", MD5_B64) is None, "nothing recorded yet"

    store.record_digest("md5", MD5_B64, SHA)
    assert store.lookup_digest("md5", MD5_B64) == SHA
    assert store.lookup_digest("md5", MD5_HEX) == SHA
    assert store.lookup_digest("sha1", MD5_B64) is None


def test_a_lookup_whose_blob_is_gone_answers_none(store: Store) -> None:
    store.record_digest("md5", MD5_B64, SHA)
    assert store.lookup_digest("md5", MD5_B64) is None


def test_ingest_records_every_verified_digest(store: Store) -> None:
    entry = FileEntry("vocab.txt", len(DATA), SHA, digests={"md5": MD5_B64, "crc32c": "AAAAAA=="})
    store.ingest(entry, writes(DATA))
    assert store.lookup_digest("md5", MD5_HEX) == SHA
    assert store.lookup_digest("crc32c", "AAAAAA==") is None, "a digest nobody checked is not recorded"


def test_recording_refuses_malformed_values(store: Store) -> None:
    with pytest.raises(IntegrityError, match="is not a md5 digest"):
        store.record_digest("md5", "???", SHA)
    with pytest.raises(IntegrityError, match="not a sha256 digest"):
        store.record_digest("md5", MD5_B64, "../../etc/passwd")


def test_ingest_unknown_stores_under_the_sha256_the_bytes_have(store: Store) -> None:
    sha = store.ingest_unknown(writes(DATA), size=len(DATA), digests={"md5": MD5_B64}, label="v", resume_key="k")
    assert sha == SHA
    assert store.blob_path(SHA).read_bytes() == DATA
    assert store.lookup_digest("md5", MD5_B64) == SHA

    def must_not_run(writer: BlobWriter) -> None:
        raise AssertionError("the md5 is known: no download")

    again = store.ingest_unknown(must_not_run, size=len(DATA), digests={"md5": MD5_B64}, label="v", resume_key="x")
    assert again == SHA


@pytest.mark.parametrize(
    ("size", "digests", "message"),
    [
        (len(DATA) + 1, {}, "size mismatch"),
        (len(DATA), {"md5": base64.b64encode(hashlib.md5(b"x").digest()).decode()}, "md5 mismatch"),
    ],
)
def test_ingest_unknown_refuses_bytes_that_do_not_match(
    store: Store, size: int, digests: dict[str, str], message: str
) -> None:
    with pytest.raises(IntegrityError, match=message):
        store.ingest_unknown(writes(DATA), size=size, digests=digests, label="v", resume_key="k")
    assert not store.blob_path(SHA).exists()
    assert list((store.root / "partial").iterdir()) == []


def test_ingest_unknown_of_bytes_already_stored_keeps_the_existing_blob(store: Store) -> None:
    store.ingest(FileEntry("a", len(DATA), SHA), writes(DATA))
    inode = store.blob_path(SHA).stat().st_ino
    assert store.ingest_unknown(writes(DATA), size=None, digests={}, label="v", resume_key="k") == SHA
    assert store.blob_path(SHA).stat().st_ino == inode
    assert list((store.root / "partial").iterdir()) == []


def test_an_interrupted_unknown_download_resumes_under_its_key(store: Store) -> None:
    def interrupted(writer: BlobWriter) -> None:
        writer.write(DATA[:1000])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.ingest_unknown(interrupted, size=len(DATA), digests={"md5": MD5_B64}, label="v", resume_key="k")
    offsets: list[int] = []

    def resume(writer: BlobWriter) -> None:
        offsets.append(writer.offset)
        writer.write(DATA[writer.offset :])

    assert store.ingest_unknown(resume, size=len(DATA), digests={"md5": MD5_B64}, label="v", resume_key="k") == SHA
    assert offsets == [1000]


def test_a_digest_learnt_mid_stream_covers_the_bytes_already_written(store: Store) -> None:
    def late_md5(writer: BlobWriter) -> None:
        writer.write(DATA[:5000])
        writer.expect_digest("md5", base64.b64encode(hashlib.md5(b"other").digest()).decode())
        writer.write(DATA[5000:])

    with pytest.raises(IntegrityError, match="md5 mismatch"):
        store.ingest(FileEntry("a", len(DATA), SHA), late_md5)

    def right_md5(writer: BlobWriter) -> None:
        writer.write(DATA[:5000])
        writer.expect_digest("md5", MD5_B64)
        writer.write(DATA[5000:])

    assert store.ingest(FileEntry("a", len(DATA), SHA), right_md5)
    assert store.lookup_digest("md5", MD5_HEX) == SHA


BIG = bytes(range(256)) * (24 << 10)  # 6 MiB: hashed on the writer's own thread


def test_a_large_blob_hashed_on_its_own_thread_is_verified_the_same_way(store: Store) -> None:
    sha = hashlib.sha256(BIG).hexdigest()
    md5 = base64.b64encode(hashlib.md5(BIG).digest()).decode()

    def in_chunks_with_a_late_md5(writer: BlobWriter) -> None:
        for i in range(0, len(BIG), 1 << 20):
            writer.write(BIG[i : i + (1 << 20)])
            if i == 5 << 20:
                writer.expect_digest("md5", md5)

    assert store.ingest(FileEntry("big", len(BIG), sha), in_chunks_with_a_late_md5)
    assert store.lookup_digest("md5", md5) == sha

    corrupt = BIG[:-1] + b"!"
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        store.ingest(FileEntry("big2", len(corrupt), hashlib.sha256(BIG[::-1]).hexdigest()), writes(corrupt))
