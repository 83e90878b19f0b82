"""The content-addressed store: file blobs by sha256, shared by every environment on the machine.

A blob becomes real only after its size and every digest we know are proven, by an atomic
rename; a finished blob is never rewritten. Layout under ``root``::

    blobs/sha256/<aa>/<digest>       finished blobs, read-only (environments hard-link them)
    partial/<digest>.part            bytes of a download that stopped early, kept for resume
    partial/<digest>.json            what the source said about them (validator, range support)
    partial/<digest>.<owner>.tmp     a download in progress, private to one writer
    locks/<digest>.lock              one flock per blob, so parallel runs don't fetch it twice
    tmp/                             scratch space on the same filesystem

File locks are not trusted blindly (network filesystems can fake them): every writer has its
own temp file, and whatever a partial holds is hashed again before it counts.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from kmenv.candidates import FileEntry, format_size
from kmenv.errors import IntegrityError, UsageError

__all__ = ["BlobWriter", "Store", "check_free_space"]

CHUNK_SIZE = 1 << 20
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


def _new_hashers(entry: FileEntry) -> dict[str, Any]:
    """A hasher for sha256 plus every extra digest the source publishes that hashlib knows.

    Unknown algorithm names (``crc32c``, say) are skipped: sha256 always decides.
    """
    hashers: dict[str, Any] = {"sha256": hashlib.sha256()}
    for name in entry.digests:
        algo = name.lower()
        if algo not in hashers and algo in hashlib.algorithms_guaranteed:
            hashers[algo] = hashlib.new(algo, usedforsecurity=False)
    return hashers


def _digest_matches(expected: str, hasher: Any) -> tuple[bool, str]:
    """Compare a published digest (hex or base64 of the raw digest) with ours, in its own encoding."""
    raw: bytes = hasher.digest()
    if re.fullmatch(r"[0-9a-fA-F]+", expected) and len(expected) == 2 * len(raw):
        actual = raw.hex()
        return expected.lower() == actual, actual
    actual = base64.b64encode(raw).decode("ascii")
    return expected == actual, actual


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable; best effort (some filesystems refuse directory fds)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_free_space(path: Path, needed_bytes: int) -> None:
    """Raise :class:`UsageError` when the filesystem holding ``path`` has less than ``needed_bytes`` free.

    A usage error (exit 2) rather than an integrity or network one: nothing is wrong with the
    data or the registry; the user's setup needs changing (free space, or another cache dir).
    """
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed_bytes:
        raise UsageError(
            f"needs {format_size(needed_bytes)} at {path}, {format_size(free)} free",
            hint="free some disk space, or point KMENV_CACHE_DIR (--cache-dir) at a larger disk",
        )


class BlobWriter:
    """Streams one blob's bytes into a private temp file, hashing every digest as they arrive.

    :meth:`Store.ingest` hands it to a producer. ``offset`` bytes are already on disk (kept
    from an earlier attempt and hashed again on opening); the producer continues from there
    or calls :meth:`restart`. ``validator`` and ``accepts_ranges`` are what the source said
    about those bytes (``None`` when unknown). A producer that appends a resumed stream sets
    ``resumed``, so a final mismatch is blamed on the partial and retried once from zero.
    """

    def __init__(self, entry: FileEntry, label: str, path: Path, file: IO[bytes]) -> None:
        self.entry = entry
        self.label = label
        self.path = path
        self.offset = 0
        self.validator: str | None = None
        self.accepts_ranges: bool | None = None
        self.resumed = False
        self._file = file
        self._hashers = _new_hashers(entry)

    def _rehash_existing(self) -> None:
        """Re-derive the running hashes from the bytes on disk (one read); drop a partial that is too long."""
        size = os.fstat(self._file.fileno()).st_size
        if size > self.entry.size:
            self.restart()
            return
        self._file.seek(0)
        while chunk := self._file.read(CHUNK_SIZE):
            for hasher in self._hashers.values():
                hasher.update(chunk)
        self.offset = size
        self.resumed = size > 0

    def remember_source(self, *, validator: str | None, accepts_ranges: bool | None) -> None:
        """Record what the source said about the bytes being written, for a later resume."""
        self.validator = validator
        self.accepts_ranges = accepts_ranges

    def write(self, data: bytes) -> None:
        """Append ``data``; refuse (IntegrityError) anything past the expected size instead of filling the disk."""
        if self.offset + len(data) > self.entry.size:
            raise IntegrityError(
                f"{self.label}: size mismatch: expected {self.entry.size} bytes, the source sent more",
                hint=MISMATCH_HINT,
            )
        self._file.write(data)
        for hasher in self._hashers.values():
            hasher.update(data)
        self.offset += len(data)

    def restart(self) -> None:
        """Forget every byte written so far and start again from zero."""
        self._file.seek(0)
        self._file.truncate()
        self._hashers = _new_hashers(self.entry)
        self.offset = 0
        self.resumed = False

    def _verify(self) -> None:
        """Size, then sha256, then every other published digest; the first mismatch is raised."""
        entry, hint = self.entry, MISMATCH_HINT
        if self.offset != entry.size:
            raise IntegrityError(
                f"{self.label}: size mismatch: expected {entry.size} bytes, got {self.offset}", hint=hint
            )
        actual = self._hashers["sha256"].hexdigest()
        if actual != entry.sha256:
            raise IntegrityError(f"{self.label}: sha256 mismatch: expected {entry.sha256}, got {actual}", hint=hint)
        for name, expected in sorted(entry.digests.items()):
            hasher = self._hashers.get(name.lower())
            if hasher is None:
                continue
            ok, actual = _digest_matches(expected.strip(), hasher)
            if not ok:
                raise IntegrityError(f"{self.label}: {name} mismatch: expected {expected}, got {actual}", hint=hint)

    def _publish(self, blob: Path) -> None:
        """Verify, make durable and read-only, then rename into place atomically."""
        self._file.flush()
        self._verify()
        os.fsync(self._file.fileno())
        os.fchmod(self._file.fileno(), _BLOB_MODE)
        self._file.close()
        blob.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        os.replace(self.path, blob)
        _fsync_dir(blob.parent)

    def _discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    def _release(self, part: Path, sidecar: Path) -> None:
        """Keep written bytes (if any) as the resumable partial; the next writer hashes them again."""
        self._file.close()
        if self.offset == 0 or not self.path.exists():
            self.path.unlink(missing_ok=True)
            return
        state = {"validator": self.validator, "accepts_ranges": self.accepts_ranges}
        temp = sidecar.with_name(f"{sidecar.name}.{secrets.token_hex(4)}.new")
        temp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(temp, sidecar)
        os.replace(self.path, part)


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
        bytes are verified and published. A mismatch discards the temp file and raises
        :class:`IntegrityError` (after one clean retry from zero when the bytes were resumed);
        any other exception keeps the bytes as a partial for resume. ``poll`` is called while
        waiting for another process's lock; raise from it to give up waiting.
        """
        blob = self.blob_path(entry.sha256)
        if self.has(entry):
            return False
        self._ensure_layout()
        with self._blob_lock(entry.sha256, poll):
            if self.has(entry):
                return False
            writer = self._open_writer(entry, label or entry.path)
            try:
                for attempt in (1, 2):
                    try:
                        produce(writer)
                        writer._publish(blob)
                        return True
                    except IntegrityError:
                        if attempt == 2 or not writer.resumed:
                            raise
                        writer.restart()  # the resumed part may be the culprit: once more from zero
                raise AssertionError("unreachable")
            except IntegrityError:
                writer._discard()
                raise
            except BaseException:
                writer._release(*self._partial_paths(entry.sha256))
                raise

    def _ensure_layout(self) -> None:
        for sub in ("blobs/sha256", "partial", "locks", "tmp"):
            (self.root / sub).mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)

    def _partial_paths(self, sha256: str) -> tuple[Path, Path]:
        partial = self.root / "partial"
        return partial / f"{sha256}.part", partial / f"{sha256}.json"

    @contextlib.contextmanager
    def _blob_lock(self, sha256: str, poll: Callable[[], None] | None) -> Iterator[None]:
        """An exclusive flock on ``locks/<digest>.lock``, polled so that waiting can be abandoned."""
        fd = os.open(self.root / "locks" / f"{sha256}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
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

    def _open_writer(self, entry: FileEntry, label: str) -> BlobWriter:
        """A writer on a fresh private temp file, or on a claimed partial whose bytes are hashed again."""
        part, sidecar = self._partial_paths(entry.sha256)
        owner = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
        private = part.with_name(f"{entry.sha256}.{owner}.tmp")
        state = self._read_sidecar(sidecar)
        claimed = self._claim(part, private) or self._claim_orphan(entry.sha256, private)
        sidecar.unlink(missing_ok=True)
        if claimed:
            fd = os.open(private, os.O_RDWR | os.O_CLOEXEC)
        else:
            state = {}
            fd = os.open(private, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _TEMP_MODE)
        writer = BlobWriter(entry, label, private, os.fdopen(fd, "r+b"))
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

    def _claim_orphan(self, sha256: str, private: Path) -> bool:
        """Adopt a temp file whose writer on this host died (killed mid-download); delete the others."""
        claimed = False
        for candidate in sorted((self.root / "partial").glob(f"{sha256}.*.tmp")):
            owner = candidate.name[len(sha256) + 1 : -len(".tmp")]  # <host>-<pid>-<random>
            host, _, pid = owner.rpartition("-")[0].rpartition("-")
            if host != _HOST or not pid.isdigit() or _pid_alive(int(pid)):
                continue
            if not claimed:
                claimed = self._claim(candidate, private)
            else:
                candidate.unlink(missing_ok=True)
        return claimed
