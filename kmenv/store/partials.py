"""Resumable partial downloads: handing the bytes a stopped (or killed) writer left to the next writer.

Layout under the store's ``partial/`` folder (see :mod:`kmenv.store.blobstore`)::

    <key>.part             bytes of a download that stopped early, kept for resume
    <key>.json             what the source said about them (validator, range support, and for a
                           download in parallel ranges which ranges are on disk)
    <key>.<owner>.tmp      a download in progress, private to one writer (``<host>-<pid>-<random>``)
    <key>.<owner>.tmp.json what that writer has learnt about its source so far
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kmenv.fs.bounded import read_json_file
from kmenv.fs.processes import HOST
from kmenv.fs.processes import pid_alive as pid_alive
from kmenv.store.writer import BlobWriter, sidecar_of
from kmenv.values.documents import JsonBounds

__all__ = ["open_writer", "partial_paths", "pid_alive"]

_TEMP_MODE = 0o600
#: How a partial download's sidecar is bounded when read: it holds a validator and a few digests.
_SIDECAR_BOUNDS = JsonBounds(1024 * 1024)


def partial_paths(partial_dir: Path, key: str) -> tuple[Path, Path]:
    """The resumable bytes of ``key``'s download and the sidecar describing their source."""
    return partial_dir / f"{key}.part", partial_dir / f"{key}.json"


def open_writer(
    partial_dir: Path, key: str, label: str, *, size: int | None, sha256: str | None, digests: Mapping[str, str]
) -> BlobWriter:
    """A writer on a fresh private temp file, or on a claimed partial whose bytes are hashed again.

    The caller holds ``key``'s blob lock, but the lock is not trusted blindly: every claim is an
    atomic rename, so two writers never share a file even when the lock was faked.
    """
    part, sidecar = partial_paths(partial_dir, key)
    owner = f"{HOST}-{os.getpid()}-{os.urandom(4).hex()}"
    private = part.with_name(f"{key}.{owner}.tmp")
    state = _read_sidecar(sidecar)
    claimed = _claim(part, private)
    if not claimed:
        orphan = _claim_orphan(partial_dir, key, private)
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
            writer.hash_existing(_ranges(state.get("ranges")))
    except BaseException:
        writer.discard()
        raise
    return writer


def _ranges(value: object) -> list[tuple[int, int]] | None:
    """The ``[[start, end], ...]`` a ranged download recorded, or None when there is no usable record.

    A record that is not a list of pairs of non-negative integers is ignored rather than trusted:
    the bytes are then hashed as one stream, and verification decides.
    """
    if not isinstance(value, list):
        return None
    ranges = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(type(n) is int and n >= 0 for n in item)):
            return None
        ranges.append((item[0], item[1]))
    return ranges


def _read_sidecar(sidecar: Path) -> dict[str, object]:
    try:
        state = read_json_file(sidecar, _SIDECAR_BOUNDS)
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _claim(path: Path, private: Path) -> bool:
    """Take ``path`` for ourselves by renaming it; atomic, so two claimants never share a file."""
    try:
        os.rename(path, private)
    except FileNotFoundError:
        return False
    return True


def _claim_orphan(partial_dir: Path, key: str, private: Path) -> dict[str, object] | None:
    """Adopt a temp file whose writer on this host died (killed mid-download); delete the others.

    Returns what its writer had recorded about the source (empty when nothing), or None
    when there was nothing to adopt.
    """
    adopted: dict[str, object] | None = None
    for candidate in sorted(partial_dir.glob(f"{key}.*.tmp")):
        owner = candidate.name[len(key) + 1 : -len(".tmp")]  # <host>-<pid>-<random>
        host, _, pid = owner.rpartition("-")[0].rpartition("-")
        if host != HOST or not pid.isdigit() or pid_alive(int(pid)):
            continue
        if adopted is None and _claim(candidate, private):
            adopted = _read_sidecar(sidecar_of(candidate))
        else:
            candidate.unlink(missing_ok=True)
        sidecar_of(candidate).unlink(missing_ok=True)
    return adopted
