"""The content-addressed store: file blobs by sha256, shared by every environment on the machine.

A blob becomes real only after its size and every digest we know are proven, by an atomic
rename; a finished blob is never rewritten (only one of the wrong size is replaced). Layout under ``root``::

    blobs/sha256/<aa>/<digest>       finished blobs, read-only (environments hard-link them)
    partial/<digest>.part            bytes of a download that stopped early, kept for resume
    partial/<digest>.json            what the source said about them (validator, range support)
    partial/<digest>.<owner>.tmp     a download in progress, private to one writer
    locks/<digest>.lock              one flock per blob, so parallel runs don't fetch it twice
    index/<algo>/<aa>/<hex>          the sha256 of the blob with that md5 (or other) digest
    tmp/                             scratch space on the same filesystem

A download whose sha256 is not known in advance (Kaggle publishes only md5) uses ``u-<key>``
in place of ``<digest>`` for its partial and lock, and lands under the sha256 it turns out to have.

File locks are not trusted blindly (network filesystems can fake them): every writer has its
own temp file, and whatever a partial holds is hashed again before it counts.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import queue
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from kmenv.candidates import FileEntry, format_size
from kmenv.errors import IntegrityError, UsageError

__all__ = ["BlobWriter", "Store", "canonical_digest", "check_free_space", "check_install_space"]

CHUNK_SIZE = 1 << 20
_PIPE_DEPTH = 8  # chunks waiting to be hashed, per writer
_INLINE_HASH_BYTES = 4 << 20  # files up to this size are hashed in the writing thread
MISMATCH_HINT = (
    "the source serves different bytes than the registry recorded; try again, "
    "and report it to the registry if it persists"
)
_DIR_MODE = 0o755
_BLOB_MODE = 0o444
_TEMP_MODE = 0o600
_LOCK_POLL_SECONDS = 0.05
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HOST = os.uname().nodename


def _require_sha256(digest: str) -> str:
    # The digest becomes a file name: anything but 64 hex digits could point outside the store.
    if not _SHA256.match(digest):
        raise IntegrityError(
            f"{digest!r} is not a sha256 digest (64 lower-case hex digits)",
            hint="the lock or registry index is damaged; re-create the lock with `kmenv lock`",
        )
    return digest


def _digest_matches(expected: str, hasher: Any) -> tuple[bool, str]:
    """Compare a published digest (hex or base64 of the raw digest) with ours, in its own encoding."""
    raw: bytes = hasher.digest()
    if re.fullmatch(r"[0-9a-fA-F]+", expected) and len(expected) == 2 * len(raw):
        actual = raw.hex()
        return expected.lower() == actual, actual
    actual = base64.b64encode(raw).decode("ascii")
    return expected == actual, actual


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a partial it owns is still being written)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_free_space(path: Path, needed_bytes: int, *, hint: str | None = None) -> None:
    """Raise :class:`UsageError` when the filesystem holding ``path`` has less than ``needed_bytes`` free.

    A usage error (exit 2) rather than an integrity or network one: nothing is wrong with the
    data or the registry; the user's setup needs changing (free space, or another cache dir).
    """
    free = shutil.disk_usage(_existing(path)).free
    if free < needed_bytes:
        raise UsageError(
            f"needs {format_size(needed_bytes)} at {path}, {format_size(free)} free",
            hint=hint
            or "free some disk space (`kmenv gc` helps), or point KMENV_CACHE_DIR (--cache-dir) at a larger disk",
        )


def _existing(path: Path) -> Path:
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_install_space(cache: Path, environment: Path, *, missing: int, linked: int, link_mode: str) -> None:
    """Fail early (UsageError, exit 2) unless both filesystems can take an install.

    The cache needs ``missing`` bytes (blobs not yet in the store). The environment needs
    ``linked`` bytes (the whole new generation) only when its files will be copies: with
    ``--link-mode copy``, or when it is on another filesystem than the cache (no hard link or
    reflink can cross filesystems). On one filesystem both needs add up.
    """
    cache_probe, env_probe = _existing(cache), _existing(environment)
    copies = link_mode == "copy" or cache_probe.stat().st_dev != env_probe.stat().st_dev
    env_need = linked if copies else 0
    if cache_probe.stat().st_dev == env_probe.stat().st_dev:
        check_free_space(cache, missing + env_need)
    else:
        check_free_space(cache, missing)
        check_free_space(
            environment,
            env_need,
            hint="free some disk space there, or keep the cache (KMENV_CACHE_DIR) on the same filesystem "
            "as the project so that files are hard-linked instead of copied",
        )


def _hashable(algorithm: str) -> bool:
    """True for digests hashlib computes with a fixed size (md5, sha1, sha512, ...); others are skipped."""
    return algorithm in hashlib.algorithms_guaranteed and not algorithm.startswith("shake")


def canonical_digest(algorithm: str, value: str) -> str | None:
    """A published digest (hex or base64 of the raw digest) as lower-case hex, or None when it is neither.

    Kaggle and Google Cloud Storage send base64, static registries hex; the digest index keys by
    one form so either finds the other.
    """
    algo, text = algorithm.lower(), value.strip()
    size = hashlib.new(algo).digest_size if _hashable(algo) else None
    if size is not None and len(text) == 2 * size and re.fullmatch(r"[0-9a-fA-F]+", text):
        return text.lower()
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (ValueError, binascii.Error):
        return None
    if not raw or (size is not None and len(raw) != size):
        return None
    return raw.hex()


class _HashPipe:
    """Hashes written chunks on a thread of its own, so hashing overlaps receiving and writing.

    sha256 runs at well under a GiB/s on one core, about what a disk takes; done inline it
    halves a fast download (issue 4). hashlib releases the GIL on large updates, so the
    two run in parallel. The queue is short (``_PIPE_DEPTH`` chunks): memory stays constant.
    """

    def __init__(self, writer: BlobWriter) -> None:
        self._writer = writer
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_PIPE_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kmenv-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            try:
                if data is None:
                    return
                if self._error is None:
                    for hasher in self._writer._hashers.values():
                        hasher.update(data)
            except BaseException as exc:  # reported to the writer at the next drain
                self._error = exc
            finally:
                self._queue.task_done()

    def feed(self, data: bytes) -> None:
        self._queue.put(data)

    def drain(self) -> None:
        """Wait until every chunk fed so far is hashed."""
        self._queue.join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()


class BlobWriter:
    """Streams one blob's bytes into a private temp file, hashing every digest as they arrive.

    :meth:`Store.ingest` hands it to a producer. ``offset`` bytes are already on disk (kept
    from an earlier attempt and hashed again on opening); the producer continues from there
    or calls :meth:`restart`. ``validator`` and ``accepts_ranges`` are what the source said
    about those bytes (``None`` when unknown). A producer that appends a resumed stream sets
    ``resumed``, so a final mismatch is blamed on the partial and retried once from zero.
    ``size`` and ``sha256`` are what the bytes must be (``None`` when not known in advance:
    :meth:`Store.ingest_unknown`); the source may add digests while streaming
    (:meth:`expect_digest`), and every one of them is checked in the same single pass.
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
        self._file = file
        self._pipe: _HashPipe | None = None
        self._expected: list[tuple[str, str]] = []
        self._hashers: dict[str, Any] = {"sha256": hashlib.sha256()}
        for name, value in sorted((digests or {}).items()):
            self.expect_digest(name, value)

    def expect_digest(self, name: str, value: str) -> None:
        """Also require ``name`` (``md5``, ...) to equal ``value``; algorithms hashlib lacks are skipped.

        A digest learnt after bytes were written is computed over the bytes on disk first.
        """
        algo = name.lower()
        if not _hashable(algo) or (name, value.strip()) in self._expected:
            return
        self._expected.append((name, value.strip()))
        if algo not in self._hashers:
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
        return {algo: hashlib.new(algo, usedforsecurity=algo == "sha256") for algo in self._hashers}

    def _rehash_existing(self) -> None:
        """Re-derive the running hashes from the bytes on disk (one read); drop a partial that is too long."""
        size = os.fstat(self._file.fileno()).st_size
        if self.size is not None and size > self.size:
            self.restart()
            return
        self._file.seek(0)
        while chunk := self._file.read(CHUNK_SIZE):
            for hasher in self._hashers.values():
                hasher.update(chunk)
        self.offset = size
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
        _write_state(_sidecar_of(self.path), {"validator": validator, "accepts_ranges": accepts_ranges})

    def write(self, data: bytes) -> None:
        """Append ``data``; refuse (IntegrityError) anything past the expected size instead of filling the disk."""
        if self.size is not None and self.offset + len(data) > self.size:
            raise IntegrityError(
                f"{self.label}: size mismatch: expected {self.size} bytes, the source sent more",
                hint=MISMATCH_HINT,
            )
        self._file.write(data)
        if self._pipe is None and self.offset + len(data) <= _INLINE_HASH_BYTES:
            for hasher in self._hashers.values():  # a small file: a thread would cost more than it saves
                hasher.update(data)
        else:
            if self._pipe is None:
                self._pipe = _HashPipe(self)
            self._pipe.feed(bytes(data))
        self.offset += len(data)

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
            ok, got = _digest_matches(expected, self._hashers[name.lower()])
            if not ok:
                raise IntegrityError(f"{self.label}: {name} mismatch: expected {expected}, got {got}", hint=hint)
        return actual

    def verified_digests(self) -> list[tuple[str, str]]:
        """The ``(algorithm, value)`` pairs besides sha256 that the published bytes were proven to match."""
        return list(self._expected)

    def _publish(self, blob_path: Callable[[str], Path]) -> str:
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
                self._discard()
                return digest
        os.fchmod(self._file.fileno(), _BLOB_MODE)
        self._file.close()
        blob.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        os.replace(self.path, blob)
        _sidecar_of(self.path).unlink(missing_ok=True)
        return digest

    def _discard(self) -> None:
        self._stop_hashing()
        self._file.close()
        self.path.unlink(missing_ok=True)
        _sidecar_of(self.path).unlink(missing_ok=True)

    def _release(self, part: Path, sidecar: Path) -> None:
        """Keep written bytes (if any) as the resumable partial; the next writer hashes them again."""
        self._stop_hashing()
        self._file.close()
        _sidecar_of(self.path).unlink(missing_ok=True)
        if self.offset == 0 or not self.path.exists():
            self.path.unlink(missing_ok=True)
            return
        _write_state(sidecar, {"validator": self.validator, "accepts_ranges": self.accepts_ranges})
        os.replace(self.path, part)


def _sidecar_of(private: Path) -> Path:
    """Where a private temp file's source state lives (``<key>.<owner>.tmp.json``)."""
    return private.with_name(private.name + ".json")


def _write_state(path: Path, state: Mapping[str, object]) -> None:
    temp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.new")
    temp.write_text(json.dumps(dict(state)), encoding="utf-8")
    os.replace(temp, path)


class Store:
    """Blobs addressed by sha256 under ``root``; see the module docstring for the layout.

    Constructing a store does no I/O; directories appear on first write.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def blob_path(self, sha256: str) -> Path:
        """Where the blob with this digest lives (whether or not it exists yet)."""
        digest = _require_sha256(sha256)
        return self.root / "blobs" / "sha256" / digest[:2] / digest

    def has_blob(self, sha256: str, size: int) -> bool:
        """True when the blob exists with the expected size; cheap (one stat), trusts the name for the hash."""
        try:
            return self.blob_path(sha256).stat().st_size == size
        except FileNotFoundError:
            return False

    def has(self, entry: FileEntry) -> bool:
        """True when ``entry``'s blob exists with the expected size."""
        return self.has_blob(entry.sha256, entry.size)

    def missing(self, entries: Iterable[FileEntry]) -> list[FileEntry]:
        """Entries whose blob is absent, one per sha256, in first-seen order."""
        seen: set[str] = set()
        result: list[FileEntry] = []
        for entry in entries:
            if entry.sha256 in seen:
                continue
            seen.add(entry.sha256)
            if not self.has(entry):
                result.append(entry)
        return result

    def ingest(
        self,
        entry: FileEntry,
        produce: Callable[[BlobWriter], None],
        *,
        label: str | None = None,
        poll: Callable[[], None] | None = None,
    ) -> bool:
        """Make ``entry``'s blob real from the bytes ``produce`` writes; False when it already existed.

        Holds the blob's file lock throughout and looks again once it has it (another process
        may have just finished). ``produce`` writes into the :class:`BlobWriter`; on return the
        bytes are verified and published, and every verified digest besides sha256 is recorded
        in the digest index (:meth:`lookup_digest`). A mismatch discards the temp file and raises
        :class:`IntegrityError` (after one clean retry from zero when the bytes were resumed);
        any other exception keeps the bytes as a partial for resume. ``poll`` is called while
        waiting for another process's lock; raise from it to give up waiting.
        """
        if self.has(entry):
            return False
        self._ensure_layout()
        with self._blob_lock(_require_sha256(entry.sha256), poll):
            if self.has(entry):
                return False
            self._write(
                entry.sha256,
                produce,
                label=label or entry.path,
                size=entry.size,
                sha256=entry.sha256,
                digests=entry.digests,
            )
            return True

    def ingest_unknown(
        self,
        produce: Callable[[BlobWriter], None],
        *,
        size: int | None,
        digests: Mapping[str, str],
        label: str,
        resume_key: str,
        poll: Callable[[], None] | None = None,
    ) -> str:
        """Like :meth:`ingest` for bytes whose sha256 is not known yet; returns the sha256 they have.

        ``size`` (when given) and ``digests`` are checked as the bytes arrive. When a digest is
        already in the index and its blob is present, nothing is produced. ``resume_key`` names
        the download (any text, e.g. its source) so an interrupted one resumes under the same key.
        """
        known = self._known_blob(size, digests)
        if known is not None:
            return known
        self._ensure_layout()
        key = "u-" + hashlib.sha256(resume_key.encode("utf-8")).hexdigest()
        with self._blob_lock(key, poll):
            known = self._known_blob(size, digests)
            if known is not None:
                return known
            return self._write(key, produce, label=label, size=size, sha256=None, digests=digests)

    def _known_blob(self, size: int | None, digests: Mapping[str, str]) -> str | None:
        for name, value in sorted(digests.items()):
            sha = self.lookup_digest(name, value)
            if sha is not None and (size is None or self.has_blob(sha, size)):
                return sha
        return None

    def _write(
        self,
        key: str,
        produce: Callable[[BlobWriter], None],
        *,
        label: str,
        size: int | None,
        sha256: str | None,
        digests: Mapping[str, str],
    ) -> str:
        """Run ``produce`` into a writer on ``key``'s partial, verify, publish; the blob's sha256."""
        writer = self._open_writer(key, label, size=size, sha256=sha256, digests=digests)
        try:
            for attempt in (1, 2):
                try:
                    produce(writer)
                    digest = writer._publish(self.blob_path)
                    break
                except IntegrityError:
                    if attempt == 2 or not writer.resumed:
                        raise
                    writer.restart()  # the resumed part may be the culprit: once more from zero
            else:  # pragma: no cover - the loop always breaks or raises
                raise AssertionError("unreachable")
        except IntegrityError:
            writer._discard()
            raise
        except BaseException:
            writer._release(*self._partial_paths(key))
            raise
        for name, value in writer.verified_digests():
            with contextlib.suppress(OSError):  # the index only saves downloads; the blob is what counts
                self.record_digest(name, value, digest)
        return digest

    # digest index ---------------------------------------------------------------------------

    def _index_path(self, algorithm: str, value: str) -> Path | None:
        algo = algorithm.lower()
        if not re.fullmatch(r"[a-z0-9_-]{1,32}", algo):
            return None
        key = canonical_digest(algo, value)
        if key is None:
            return None
        return self.root / "index" / algo / key[:2] / key

    def lookup_digest(self, algorithm: str, value: str) -> str | None:
        """The sha256 of a blob in the store whose ``algorithm`` digest is ``value`` (hex or base64).

        None when the digest is unknown, malformed, or its blob is no longer in the store.
        """
        path = self._index_path(algorithm, value)
        if path is None:
            return None
        try:
            sha = path.read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            return None
        if not _SHA256.match(sha) or not self.blob_path(sha).is_file():
            return None
        return sha

    def record_digest(self, algorithm: str, value: str, sha256: str) -> None:
        """Remember that the blob ``sha256`` has ``algorithm`` digest ``value`` (atomic; safe across processes)."""
        _require_sha256(sha256)
        path = self._index_path(algorithm, value)
        if path is None:
            raise IntegrityError(
                f"{value!r} is not a {algorithm} digest (hex or base64 of the raw digest)",
                hint="the registry published a malformed digest; report it to the registry",
            )
        with contextlib.suppress(OSError):
            if path.read_text(encoding="ascii").strip() == sha256:
                return
        path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            temp.write_text(sha256 + "\n", encoding="ascii")
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def _ensure_layout(self) -> None:
        for sub in ("blobs/sha256", "partial", "locks", "tmp"):
            (self.root / sub).mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)

    def _partial_paths(self, key: str) -> tuple[Path, Path]:
        partial = self.root / "partial"
        return partial / f"{key}.part", partial / f"{key}.json"

    @contextlib.contextmanager
    def _blob_lock(self, key: str, poll: Callable[[], None] | None) -> Iterator[None]:
        """An exclusive flock on ``locks/<key>.lock``, polled so that waiting can be abandoned."""
        fd = os.open(self.root / "locks" / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if poll is not None:
                    poll()
                time.sleep(_LOCK_POLL_SECONDS)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _open_writer(
        self, key: str, label: str, *, size: int | None, sha256: str | None, digests: Mapping[str, str]
    ) -> BlobWriter:
        """A writer on a fresh private temp file, or on a claimed partial whose bytes are hashed again."""
        part, sidecar = self._partial_paths(key)
        owner = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
        private = part.with_name(f"{key}.{owner}.tmp")
        state = self._read_sidecar(sidecar)
        claimed = self._claim(part, private)
        if not claimed:
            orphan = self._claim_orphan(key, private)
            claimed, state = orphan is not None, orphan or {}
        sidecar.unlink(missing_ok=True)
        if claimed:
            fd = os.open(private, os.O_RDWR | os.O_CLOEXEC)
        else:
            state = {}
            fd = os.open(private, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _TEMP_MODE)
        writer = BlobWriter(label, private, os.fdopen(fd, "r+b"), size=size, sha256=sha256, digests=digests)
        try:
            if claimed:
                validator = state.get("validator")
                ranges = state.get("accepts_ranges")
                writer.remember_source(
                    validator=validator if isinstance(validator, str) else None,
                    accepts_ranges=ranges if isinstance(ranges, bool) else None,
                )
                writer._rehash_existing()
        except BaseException:
            writer._discard()
            raise
        return writer

    @staticmethod
    def _read_sidecar(sidecar: Path) -> dict[str, object]:
        try:
            state = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    @staticmethod
    def _claim(path: Path, private: Path) -> bool:
        """Take ``path`` for ourselves by renaming it; atomic, so two claimants never share a file."""
        try:
            os.rename(path, private)
        except FileNotFoundError:
            return False
        return True

    def _claim_orphan(self, key: str, private: Path) -> dict[str, object] | None:
        """Adopt a temp file whose writer on this host died (killed mid-download); delete the others.

        Returns what its writer had recorded about the source (empty when nothing), or None
        when there was nothing to adopt.
        """
        adopted: dict[str, object] | None = None
        for candidate in sorted((self.root / "partial").glob(f"{key}.*.tmp")):
            owner = candidate.name[len(key) + 1 : -len(".tmp")]  # <host>-<pid>-<random>
            host, _, pid = owner.rpartition("-")[0].rpartition("-")
            if host != _HOST or not pid.isdigit() or pid_alive(int(pid)):
                continue
            if adopted is None and self._claim(candidate, private):
                adopted = self._read_sidecar(_sidecar_of(candidate))
            else:
                candidate.unlink(missing_ok=True)
            _sidecar_of(candidate).unlink(missing_ok=True)
        return adopted
