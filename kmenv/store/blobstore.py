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

This module orchestrates; the parts live beside it: :mod:`kmenv.store.writer` (streaming, hashing,
verifying one blob), :mod:`kmenv.store.partials` (resuming what a stopped writer left),
:mod:`kmenv.store.digests` (digest forms) and :mod:`kmenv.store._diskspace` (free-space checks). Their names
callers use are importable from here as well.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from kmenv.errors import IntegrityError
from kmenv.fs.atomic import write_atomic
from kmenv.fs.failures import refused_writes
from kmenv.fs.locks import LockHolder, held_lock, waiting_text
from kmenv.store._diskspace import check_free_space, check_install_space
from kmenv.store.digests import canonical_digest, is_sha256, require_sha256
from kmenv.store.external import is_external, link_proven, prove_file
from kmenv.store.folders import folders_held
from kmenv.store.integrity import check_blob, remove_blob, reseal_after_link, seal_blob
from kmenv.store.partials import open_writer, partial_paths
from kmenv.store.partials import pid_alive as pid_alive
from kmenv.store.writer import CHUNK_SIZE as CHUNK_SIZE
from kmenv.store.writer import DIR_MODE, BlobWriter
from kmenv.store.writer import MISMATCH_HINT as MISMATCH_HINT

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the warm install opens a store)
if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    from kmenv.values.candidates import FileEntry

    class _Blob(Protocol):
        """A file named by its content: a registry's or a lock's file entry."""

        @property
        def sha256(self) -> str: ...

    _F = TypeVar("_F", bound=_Blob)

__all__ = ["BlobWriter", "Store", "canonical_digest", "check_free_space", "check_install_space"]


class _KnownBlob(Exception):
    """A digest the source announced names a blob already in the store: stop writing, use that one."""

    def __init__(self, sha256: str, name: str, value: str) -> None:
        super().__init__(sha256)
        self.sha256, self.name, self.value = sha256, name, value


class Store:
    """Blobs addressed by sha256 under ``root``; see the module docstring for the layout.

    Constructing a store does no I/O; directories appear on first write. ``damaged`` lists the blobs
    :meth:`intact` found modified (and took out of the store) during this object's life.
    """

    def __init__(self, root: Path, *, on_wait: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.damaged: list[str] = []
        self.on_wait = on_wait  # hears "waiting for another kmenv (pid N) downloading …" when a blob is busy

    def blob_path(self, sha256: str) -> Path:
        """Where the blob with this digest lives (whether or not it exists yet)."""
        digest = require_sha256(sha256)
        return self.root / "blobs" / "sha256" / digest[:2] / digest

    def has_blob(self, sha256: str, size: int) -> bool:
        """True when the blob exists with the expected size; cheap (one stat), trusts the name for the hash."""
        try:
            return self.blob_path(sha256).stat().st_size == size
        except FileNotFoundError:
            return False

    def intact(self, sha256: str, size: int) -> bool:
        """True when the blob is present and its bytes still match its name (:mod:`kmenv.store.integrity`).

        One ``stat`` for a blob whose inode is as it was when last proven; a full hash otherwise. A
        damaged blob (written to through a hard link, say) is removed, so it is fetched again, and
        noted in :attr:`damaged`. Ask this before linking a blob into an environment.
        """
        state = check_blob(self.root, require_sha256(sha256), size)
        if state == "damaged":
            remove_blob(self.root, sha256)
            self.damaged.append(sha256)
        return state == "intact"

    def linked(self, sha256s: Iterable[str]) -> None:
        """The store's own links to these blobs are made: keep their seals (a link changes only ctime)."""
        for sha in set(sha256s):
            reseal_after_link(self.root, require_sha256(sha))

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
        waiting for another process's lock; raise from it to give up waiting. A disk that refuses
        the bytes (full, read-only) raises :class:`~kmenv.errors.StorageError`; nothing is published.
        """
        if self.has(entry):
            return False
        with (
            refused_writes(self.root, needed=entry.size),
            self._blob_lock(require_sha256(entry.sha256), poll, label or entry.path),
        ):
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

    def adopt(
        self,
        entry: FileEntry,
        source: Path,
        *,
        label: str | None = None,
        poll: Callable[[], None] | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> bool:
        """Make ``entry``'s blob a verified reference to the local file ``source`` rather than a copy of it.

        For files that stay where they are for as long as they are used (a notebook's read-only mount); see
        :mod:`kmenv.store.external`. False when the blob already existed. A mismatch raises
        :class:`IntegrityError` and keeps nothing.
        """
        if self.has(entry):
            return False
        sha = require_sha256(entry.sha256)
        label = label or entry.path
        with refused_writes(self.root), self._blob_lock(sha, poll, label):
            if self.has(entry):
                return False
            _, proven = prove_file(source, sha256=sha, size=entry.size, label=label, on_bytes=on_bytes)
            link_proven(self.root, self.blob_path(sha), source, sha, proven)
            return True

    def adopt_unhashed(self, source: Path, size: int, *, label: str) -> str:
        """:meth:`adopt` for a file whose sha256 is not known yet (read once to learn it); the sha256."""
        sha, proven = prove_file(source, sha256=None, size=size, label=label)
        with refused_writes(self.root), self._blob_lock(sha, None, label):
            if not self.has_blob(sha, size):
                link_proven(self.root, self.blob_path(sha), source, sha, proven)
        return sha

    def external(self, entries: Iterable[_F]) -> list[_F]:
        """The entries whose blob is an adopted file outside the store (present or not; one ``lstat`` each)."""
        return [e for e in entries if is_external(self.blob_path(e.sha256))]

    def ingest_unknown(
        self,
        produce: Callable[[BlobWriter], None],
        *,
        size: int | None,
        digests: Mapping[str, str],
        label: str,
        resume_key: str,
        poll: Callable[[], None] | None = None,
        learned: dict[str, str] | None = None,
    ) -> str:
        """Like :meth:`ingest` for bytes whose sha256 is not known yet; returns the sha256 they have.

        ``size`` (when given) and ``digests`` are checked as the bytes arrive. When a digest is
        already in the index and its blob is present, nothing is produced; the same holds for a
        digest the source announces while producing (an ``x-goog-hash`` md5 in a reply's headers):
        the write stops there and the known blob is the answer, so a file already in the store costs
        no body and no probe request. ``resume_key`` names the download (any text, e.g. its source)
        so an interrupted one resumes under the same key. ``learned``, when given, receives every
        digest besides sha256 the bytes were proven to have (or that named the known blob).
        """
        learned = {} if learned is None else learned
        known = self._known_blob(size, digests)
        if known is None:
            self._ensure_layout()
            import hashlib

            key = "u-" + hashlib.sha256(resume_key.encode("utf-8")).hexdigest()
            with refused_writes(self.root, needed=size), self._blob_lock(key, poll, label):
                known = self._known_blob(size, digests)
                if known is None:
                    try:
                        return self._write(
                            key, produce, label=label, size=size, sha256=None, digests=digests, learned=learned
                        )
                    except _KnownBlob as found:
                        learned[found.name] = found.value
                        return found.sha256
        learned.update(digests)
        return known

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
        learned: dict[str, str] | None = None,
    ) -> str:
        """Run ``produce`` into a writer on ``key``'s partial, verify, publish; the blob's sha256."""
        writer = open_writer(self.root / "partial", key, label, size=size, sha256=sha256, digests=digests)
        if sha256 is None:

            def seen(name: str, value: str) -> None:
                found = self._known_blob(size, {name: value})
                if found is not None:
                    raise _KnownBlob(found, name, value)

            writer.on_digest = seen
        try:
            for attempt in (1, 2):
                try:
                    produce(writer)
                    with folders_held(self.root, exclusive=False):
                        digest = writer.publish(self.blob_path)
                    if writer.placed:
                        seal_blob(self.root, digest)  # proven just now: the next link needs no hash
                    break
                except IntegrityError:
                    if attempt == 2 or not writer.resumed:
                        raise
                    writer.restart()  # the resumed part may be the culprit: once more from zero
            else:  # pragma: no cover - the loop always breaks or raises
                raise AssertionError("unreachable")
        except (IntegrityError, _KnownBlob):
            writer.discard()
            raise
        except BaseException:
            with contextlib.suppress(OSError):  # a full disk may refuse even that: the orphan is adopted later
                writer.keep_partial(*partial_paths(self.root / "partial", key))
            raise
        for name, value in writer.verified_digests():
            with contextlib.suppress(OSError):  # the index only saves downloads; the blob is what counts
                self.record_digest(name, value, digest)
            if learned is not None:
                learned[name] = value
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
        if not is_sha256(sha) or not self.blob_path(sha).is_file():
            return None
        return sha

    def record_digest(self, algorithm: str, value: str, sha256: str) -> None:
        """Remember that the blob ``sha256`` has ``algorithm`` digest ``value`` (atomic; safe across processes)."""
        require_sha256(sha256)
        path = self._index_path(algorithm, value)
        if path is None:
            raise IntegrityError(
                f"{value!r} is not a {algorithm} digest (hex or base64 of the raw digest)",
                hint="the registry published a malformed digest; report it to the registry",
            )
        with contextlib.suppress(OSError):
            if path.read_text(encoding="ascii").strip() == sha256:
                return
        with folders_held(self.root, exclusive=False):  # gc sweeps empty shard folders under it
            path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            write_atomic(path, sha256 + "\n", durable=False)  # the index only saves downloads: it may be lost

    def _ensure_layout(self) -> None:
        for sub in ("blobs/sha256", "partial", "locks", "tmp"):
            (self.root / sub).mkdir(mode=DIR_MODE, parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _blob_lock(self, key: str, poll: Callable[[], None] | None, label: str) -> Iterator[None]:
        """An exclusive flock on ``locks/<key>.lock`` (the layout made first), polled so waiting can be abandoned.

        It records who downloads ``label``, so a run that waits for it says for whom (:attr:`on_wait`).
        """
        self._ensure_layout()

        def waiting(holder: LockHolder) -> None:
            if self.on_wait is not None:
                self.on_wait(waiting_text(holder, place="into the cache"))

        with held_lock(
            self.root / "locks" / f"{key}.lock",
            operation=f"downloading {label}",
            on_wait=waiting,
            poll=poll or (lambda: None),
        ):
            yield
