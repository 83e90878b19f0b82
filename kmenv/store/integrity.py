"""Blobs proven intact again when they may have changed: a seal of each blob's inode as last verified.

A blob is read-only, but root ignores modes, and with hard links an installed file *is* its blob: writing
into it changes the store and every environment linking it. Hashing every blob before every link would
cost a full read of each file on each install, so the store keeps, per blob, the inode's identity and
times when its bytes were last proven (``verified/<aa>/<sha256>``: inode, size, mtime and ctime in
nanoseconds). A blob whose inode still matches its seal is trusted with one ``stat``; any other (written
to, ``touch``-ed back, chmod-ed, relinked elsewhere, or never sealed) is hashed again first. A write
changes mtime and ctime, and resetting mtime (``touch -d``) changes ctime, so an edit cannot keep a seal.
Linking changes ctime too: the store seals again after its own links (:func:`reseal_after_link`).

A damaged blob is taken out of the store (deleted, or moved to ``quarantine/`` for a look), so the next
install fetches it again; environments linking the damaged inode keep it until ``validate --repair``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from kmenv.fs.atomic import write_atomic
from kmenv.store.folders import folders_held

__all__ = [
    "QUARANTINE",
    "SEALS",
    "Seal",
    "check_blob",
    "forget_seal",
    "hash_file",
    "quarantine_blob",
    "remove_blob",
    "reseal_after_link",
    "seal_blob",
    "seal_state",
]

SEALS = "verified"
QUARANTINE = "quarantine"
_READ = 1 << 20


@dataclass(frozen=True)
class Seal:
    """What a blob's inode looked like when its bytes were last proven to match its name."""

    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> Seal:
        return cls(info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

    def same_content_times(self, other: Seal) -> bool:
        """True when only ctime differs: the inode was linked or unlinked, its bytes not touched."""
        return (self.ino, self.size, self.mtime_ns) == (other.ino, other.size, other.mtime_ns)


def _blob(root: Path, sha256: str) -> Path:
    return root / "blobs" / "sha256" / sha256[:2] / sha256


def _seal_path(root: Path, sha256: str) -> Path:
    return root / SEALS / sha256[:2] / sha256


def _read_seal(root: Path, sha256: str) -> Seal | None:
    try:
        data = json.loads(_seal_path(root, sha256).read_text(encoding="ascii"))
        return Seal(int(data["ino"]), int(data["size"]), int(data["mtime_ns"]), int(data["ctime_ns"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def seal_blob(root: Path, sha256: str, info: os.stat_result | None = None) -> None:
    """Record that the blob's bytes were just proven; a seal that cannot be written only costs a re-hash later."""
    path = _seal_path(root, sha256)
    with contextlib.suppress(OSError):  # a read-only or full cache: the blob is still fine, just not sealed
        info = info or _blob(root, sha256).stat()
        with folders_held(root, exclusive=False):  # gc sweeps empty shard folders under it
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(asdict(Seal.of(info))) + "\n", durable=False)


def hash_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """The sha256 of a file, read in 1 MiB chunks; ``on_bytes`` hears each chunk's length."""
    import hashlib  # OpenSSL's loading: only once bytes are hashed

    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(_READ):
            digest.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return digest.hexdigest()


def _sealed(root: Path, sha256: str, size: int | None) -> tuple[str, os.stat_result | None]:
    """``intact``, ``damaged`` (wrong size), ``absent`` or ``unsealed`` (to hash), from one ``stat`` and the seal."""
    try:
        info = _blob(root, sha256).stat()
    except FileNotFoundError:
        return "absent", None
    if size is not None and info.st_size != size:
        return "damaged", info
    if _read_seal(root, sha256) == Seal.of(info):
        return "intact", info
    return "unsealed", info


def seal_state(root: Path, sha256: str, size: int | None = None) -> str:
    """What :func:`check_blob` would decide without hashing: ``intact``, ``damaged``, ``absent`` or ``unsealed``.

    For callers that only go on when every blob is trusted by its seal, leaving the others to ``check_blob``.
    """
    return _sealed(root, sha256, size)[0]


def check_blob(
    root: Path, sha256: str, size: int | None = None, *, on_bytes: Callable[[int], None] | None = None
) -> str:
    """``intact``, ``damaged`` or ``absent``: one ``stat`` when the seal matches, a full hash otherwise.

    ``size`` (when known) must match as well; a blob of another size is damaged. A blob that hashes
    right is sealed again, so the next check is cheap.
    """
    state, info = _sealed(root, sha256, size)
    if state != "unsealed" or info is None:
        return state
    try:
        actual = hash_file(_blob(root, sha256), on_bytes)
    except FileNotFoundError:
        return "absent"
    if actual != sha256:
        return "damaged"
    seal_blob(root, sha256, info)
    return "intact"


def reseal_after_link(root: Path, sha256: str) -> None:
    """Seal again after the store's own link changed only the blob's ctime (a write changes mtime too)."""
    before = _read_seal(root, sha256)
    try:
        info = _blob(root, sha256).stat()
    except OSError:
        return
    now = Seal.of(info)
    if before is not None and before != now and before.same_content_times(now):
        seal_blob(root, sha256, info)


def forget_seal(root: Path, sha256: str) -> None:
    """Drop a blob's seal (the blob is gone: gc deleted it)."""
    with contextlib.suppress(OSError):
        _seal_path(root, sha256).unlink(missing_ok=True)


def remove_blob(root: Path, sha256: str) -> None:
    """Take a damaged blob out of the store: the next install fetches it again."""
    _blob(root, sha256).unlink(missing_ok=True)
    forget_seal(root, sha256)


def quarantine_blob(root: Path, sha256: str) -> Path:
    """Move a damaged blob to ``quarantine/<sha256>.<time>`` (kept for a look; ``cache clean`` empties it)."""
    target = root / QUARANTINE / f"{sha256}.{time.strftime('%Y%m%dT%H%M%S')}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.replace(_blob(root, sha256), target)
    _seal_path(root, sha256).unlink(missing_ok=True)
    return target
