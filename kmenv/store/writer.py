"""Streaming one blob into a private temp file while hashing it, then proving and publishing or keeping it.

Two ways in: :meth:`BlobWriter.write` appends (one stream, hashed as it goes), and
:meth:`BlobWriter.write_at` places bytes anywhere in a preallocated file (parallel byte ranges), the
hashes then following the contiguous prefix through :meth:`BlobWriter.hash_through`. Which ranges are
on disk is recorded beside the file, so a ranged download resumes range by range.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from kmenv.errors import IntegrityError
from kmenv.store._hashing import HashPipe, update_all
from kmenv.store._writeback import WriteBack
from kmenv.store.digests import digest_matches, hashable
from kmenv.store.folders import place

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = ["CHUNK_SIZE", "DIR_MODE", "MISMATCH_HINT", "BlobWriter", "merge_ranges", "sidecar_of"]

CHUNK_SIZE = 1 << 20
_INLINE_HASH_BYTES = 4 << 20  # files up to this size are hashed in the writing thread
MISMATCH_HINT = (
    "the source serves different bytes than the registry recorded; try again, "
    "and report it to the registry if it persists"
)
DIR_MODE = 0o755
_BLOB_MODE = 0o444


class BlobWriter:
    """Streams one blob's bytes into a private temp file, hashing every digest as they arrive.

    :meth:`~kmenv.store.blobstore.Store.ingest` hands it to a producer. ``offset`` bytes are already on disk (kept
    from an earlier attempt and hashed again on opening); the producer continues from there
    or calls :meth:`restart`. ``validator`` and ``accepts_ranges`` are what the source said
    about those bytes (``None`` when unknown). A producer that appends a resumed stream sets
    ``resumed``, so a final mismatch is blamed on the partial and retried once from zero.
    ``size`` and ``sha256`` are what the bytes must be (``None`` when not known in advance:
    :meth:`~kmenv.store.blobstore.Store.ingest_unknown`); the source may add digests while streaming
    (:meth:`expect_digest`), and every one of them is checked in the same single pass.
    Two kinds of caller use it. A producer writes: :meth:`write`, :meth:`restart`,
    :meth:`expect_digest`, :meth:`remember_source`. The store ends it, knowing where blobs and
    partials live: :meth:`hash_existing` when it adopts a partial (:mod:`kmenv.store.partials`),
    then exactly one of :meth:`publish`, :meth:`discard` or :meth:`keep_partial`
    (:mod:`kmenv.store.blobstore`).
    """

    def __init__(
        self,
        label: str,
        path: Path,
        file: IO[bytes],
        *,
        size: int | None,
        sha256: str | None,
        digests: Mapping[str, str] | None = None,
    ) -> None:
        self.label = label
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.offset = 0
        self.validator: str | None = None
        self.accepts_ranges: bool | None = None
        self.resumed = False
        self.placed = False  # set by publish when these bytes became the blob (not dropped for an existing one)
        #: Byte ranges ``[start, end)`` on disk, sorted and merged, for ranged writing (``write_at``).
        self.done: list[tuple[int, int]] = []
        #: Told of every digest the source announces, before it is required; may raise to stop the write.
        self.on_digest: Callable[[str, str], None] | None = None
        self._ranged = False  # the file is preallocated: only :attr:`done` says which bytes are real
        self._file = file
        self._writeback = WriteBack(file.fileno())
        self._pipe: HashPipe | None = None
        self._frontier = threading.Lock()  # ranged writing: who moves :attr:`offset` (the bytes handed to hashing)
        self._expected: list[tuple[str, str]] = []
        import hashlib  # OpenSSL's loading: only once bytes are hashed

        self._hashers: dict[str, Any] = {"sha256": hashlib.sha256()}
        for name, value in sorted((digests or {}).items()):
            self.expect_digest(name, value)

    def expect_digest(self, name: str, value: str) -> None:
        """Also require ``name`` (``md5``, ...) to equal ``value``; algorithms hashlib lacks are skipped.

        A digest learnt after bytes were written is computed over the bytes on disk first.
        """
        if self.on_digest is not None:
            self.on_digest(name, value)
        algo = name.lower()
        if not hashable(algo) or (name, value.strip()) in self._expected:
            return
        self._expected.append((name, value.strip()))
        if algo not in self._hashers:
            import hashlib

            self._sync()
            hasher = hashlib.new(algo, usedforsecurity=False)
            if self.offset:
                self._file.flush()
                with open(self.path, "rb") as existing:
                    remaining = self.offset
                    while remaining and (chunk := existing.read(min(CHUNK_SIZE, remaining))):
                        hasher.update(chunk)
                        remaining -= len(chunk)
            self._hashers[algo] = hasher

    def _fresh_hashers(self) -> dict[str, Any]:
        import hashlib

        return {algo: hashlib.new(algo, usedforsecurity=algo == "sha256") for algo in self._hashers}

    def hash_existing(self, ranges: Iterable[tuple[int, int]] | None = None) -> None:
        """Re-derive the running hashes from the bytes on disk (one read); drop a partial that is too long.

        ``ranges`` (from the partial's record) says which bytes of a ranged download are real: only
        their contiguous prefix is hashed, the rest stays in :attr:`done` for the download to skip.
        """
        size = os.fstat(self._file.fileno()).st_size
        if self.size is not None and size > self.size:
            self.restart()
            return
        if ranges is not None:
            self.done = merge_ranges((s, min(e, size)) for s, e in ranges if 0 <= s < min(e, size))
            prefix = self.done[0][1] if self.done and self.done[0][0] == 0 else 0
            self._ranged = True
            self.hash_through(prefix)
            self._file.seek(prefix)
            self.resumed = bool(self.done)
            return
        self._file.seek(0)
        while chunk := self._file.read(CHUNK_SIZE):
            update_all(self._hashers, chunk)
        self.offset = size
        self.done = [(0, size)] if size else []
        self.resumed = size > 0

    def remember_source(self, *, validator: str | None, accepts_ranges: bool | None) -> None:
        """Record what the source said about the bytes being written, for a later resume.

        Written beside the temp file at once, so a writer killed outright (SIGKILL, power loss)
        still leaves the validator for the process that adopts its bytes.
        """
        if (validator, accepts_ranges) == (self.validator, self.accepts_ranges):
            return
        self.validator = validator
        self.accepts_ranges = accepts_ranges
        _write_state(sidecar_of(self.path), self._state())

    def _state(self) -> dict[str, object]:
        state: dict[str, object] = {"validator": self.validator, "accepts_ranges": self.accepts_ranges}
        if self._ranged:
            state["ranges"] = [list(r) for r in self.done]
        return state

    # ranged writing ---------------------------------------------------------------------------

    def preallocate(self) -> None:
        """Give the temp file its full size before ranges land anywhere in it (a full disk shows at once)."""
        assert self.size is not None, "only a file of known size is written in ranges"
        self._file.flush()
        fd = self._file.fileno()
        self._ranged = True
        if os.fstat(fd).st_size >= self.size:
            return
        try:
            os.posix_fallocate(fd, 0, self.size)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
            os.ftruncate(fd, self.size)  # a filesystem without fallocate: a sparse file does as well

    def write_at(self, position: int, data: bytes | memoryview) -> None:
        """Write ``data`` at ``position``; safe from many threads at once. Never past the expected size.

        The bytes count once the caller records them with :meth:`record_ranges`. Bytes that continue
        the hashed prefix go to the hashing thread as they are (``data`` must not change afterwards);
        others are hashed once :meth:`hash_through` reaches them, read back from the page cache.
        """
        if self.size is None or position < 0 or position + len(data) > self.size:
            raise IntegrityError(
                f"{self.label}: size mismatch: expected {self.size} bytes, the source sent more",
                hint=MISMATCH_HINT,
            )
        view = memoryview(data)
        fd = self._file.fileno()
        at = position
        while view:
            written = os.pwrite(fd, view, at)
            view, at = view[written:], at + written
        self._writeback.wrote(len(data))
        if position == self.offset:  # the next bytes of the hashed prefix: hashed from memory, never read back
            with self._frontier:
                if position == self.offset:
                    self._hash_pipe().feed(data)
                    self.offset += len(data)

    def record_ranges(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Remember which byte ranges are on disk, beside the temp file at once (atomically).

        So a process killed mid-download leaves the next one a map of what to fetch again.
        """
        self.done = merge_ranges(ranges)
        _write_state(sidecar_of(self.path), self._state())

    def hash_through(self, end: int) -> None:
        """Hash the bytes on disk from :attr:`offset` up to ``end`` (they are all written), in order.

        The hashing thread reads them from the page cache into one reused buffer, in order with the
        chunks :meth:`write_at` hands it, so this returns at once; hashlib releases the GIL on large
        updates, so hashing overlaps the threads that receive. The hashes are complete once
        :meth:`publish` (or another :meth:`_sync`) waited for that thread.
        """
        with self._frontier:
            start = self.offset
            if end <= start:
                return
            self.offset = end
            self._hash_pipe().call(lambda: self._hash_disk(start, end))

    def _hash_disk(self, start: int, end: int) -> None:
        """Hash bytes ``[start, end)`` of the temp file (on the hashing thread)."""
        buffer = bytearray(min(CHUNK_SIZE * 4, end - start))
        view = memoryview(buffer)
        fd = self._file.fileno()
        while start < end:
            got = os.preadv(fd, [view[: min(len(view), end - start)]], start)
            if got <= 0:
                raise IntegrityError(f"{self.label}: the temp file ended at {start} bytes", hint=MISMATCH_HINT)
            update_all(self._hashers, view[:got])
            start += got

    def _hash_pipe(self) -> HashPipe:
        if self._pipe is None:
            self._pipe = HashPipe(lambda data: update_all(self._hashers, data))
        return self._pipe

    def write(self, data: bytes) -> None:
        """Append ``data``; refuse (IntegrityError) anything past the expected size instead of filling the disk."""
        if self.size is not None and self.offset + len(data) > self.size:
            raise IntegrityError(
                f"{self.label}: size mismatch: expected {self.size} bytes, the source sent more",
                hint=MISMATCH_HINT,
            )
        self._file.write(data)
        self._writeback.wrote(len(data))
        if self._pipe is None and self.offset + len(data) <= _INLINE_HASH_BYTES:
            for hasher in self._hashers.values():  # a small file: a thread would cost more than it saves
                hasher.update(data)
        else:
            self._hash_pipe().feed(bytes(data))
        self.offset += len(data)
        self.done = merge_ranges([*self.done, (0, self.offset)])

    def _sync(self) -> None:
        """Let the hashes catch up with every byte written."""
        if self._pipe is not None:
            self._pipe.drain()

    def _stop_hashing(self) -> None:
        if self._pipe is not None:
            self._pipe.stop()
            self._pipe = None

    def restart(self) -> None:
        """Forget every byte written so far and start again from zero."""
        self._sync()
        self._file.seek(0)
        self._file.truncate()
        self._hashers = self._fresh_hashers()
        self.offset = 0
        self.done = []
        self._ranged = False
        self.resumed = False

    def _verify(self) -> str:
        """Size, then sha256, then every other expected digest; the first mismatch is raised. The sha256."""
        hint = MISMATCH_HINT
        self._sync()
        if self.size is not None and self.offset != self.size:
            raise IntegrityError(
                f"{self.label}: size mismatch: expected {self.size} bytes, got {self.offset}", hint=hint
            )
        actual = str(self._hashers["sha256"].hexdigest())
        if self.sha256 is not None and actual != self.sha256:
            raise IntegrityError(f"{self.label}: sha256 mismatch: expected {self.sha256}, got {actual}", hint=hint)
        for name, expected in sorted(self._expected):
            ok, got = digest_matches(expected, self._hashers[name.lower()])
            if not ok:
                raise IntegrityError(f"{self.label}: {name} mismatch: expected {expected}, got {got}", hint=hint)
        return actual

    def verified_digests(self) -> list[tuple[str, str]]:
        """The ``(algorithm, value)`` pairs besides sha256 that the published bytes were proven to match."""
        return list(self._expected)

    def publish(self, blob_path: Callable[[str], Path]) -> str:
        """Verify, make read-only, then rename into place atomically; the sha256.

        When a blob of the right size already exists (the same bytes arrived under another
        name), ours is dropped: a finished blob is never rewritten. A blob of the wrong size
        (a power cut before the kernel wrote it out) is replaced.

        The bytes are fsynced before the rename: after a power cut a blob of the right size
        could otherwise hold pages the disk never received, and installs trust a blob's name.
        Correctness first; the cost is measured in ``bench/bench_download.py``.
        """
        self._file.flush()
        os.fsync(self._file.fileno())
        digest = self._verify()
        self._stop_hashing()
        blob = blob_path(digest)
        with contextlib.suppress(FileNotFoundError):
            if blob.stat().st_size == self.offset:
                self.discard()
                return digest
        os.fchmod(self._file.fileno(), _BLOB_MODE)
        self._file.close()
        place(self.path, blob)  # the caller holds the store's folder lock (shared), so gc leaves the folder be
        self.placed = True
        sidecar_of(self.path).unlink(missing_ok=True)
        return digest

    def discard(self) -> None:
        """Drop every byte written (they failed verification, or were never wanted)."""
        self._stop_hashing()
        self._file.close()
        self.path.unlink(missing_ok=True)
        sidecar_of(self.path).unlink(missing_ok=True)

    def keep_partial(self, part: Path, sidecar: Path) -> None:
        """Keep written bytes (if any) as the resumable partial; the next writer hashes them again."""
        self._stop_hashing()
        self._file.close()
        sidecar_of(self.path).unlink(missing_ok=True)
        if not self.done or not self.path.exists():
            self.path.unlink(missing_ok=True)
            return
        _write_state(sidecar, self._state())
        os.replace(self.path, part)


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[start, end)`` ranges sorted, empty ones dropped, touching or overlapping ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in ranges if e > s):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def sidecar_of(private: Path) -> Path:
    """Where a private temp file's source state lives (``<key>.<owner>.tmp.json``)."""
    return private.with_name(private.name + ".json")


def _write_state(path: Path, state: Mapping[str, object]) -> None:
    """Replace a sidecar atomically, without :func:`kmenv.fs.atomic.write_atomic` on purpose.

    In ``partial/`` a name ending in ``.tmp`` means "a download in progress" (orphans are adopted
    and gc judges them by that name), so the temp file here ends in ``.new`` instead. Not fsynced:
    a lost sidecar only costs a resume.
    """
    temp = path.with_name(f"{path.name}.{os.urandom(4).hex()}.new")
    try:
        temp.write_text(json.dumps(dict(state)), encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
