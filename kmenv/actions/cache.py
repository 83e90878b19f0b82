"""``kmenv cache info|list|verify|clean``: what the store holds, who uses it, whether it is intact, emptying it.

``prune`` is :mod:`kmenv.actions.gc` keeping every generation (:data:`PRUNE`); ``info`` counts what it
would delete from the same plan, and why the other unreferenced blobs stay. ``clean`` empties the
store but keeps the roots (the record of environments) and the lock files (another process may
hold one right now); environments keep working, since their files are links or copies. ``verify``
hashes every blob again (see :mod:`kmenv.store.integrity` for why installs usually need not).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.store.gc_delete import remove_tree
from kmenv.store.gc_plan import CacheSnapshot, GcOptions, plan_gc

if TYPE_CHECKING:
    from kmenv.fetch.progress import ProgressSink
    from kmenv.store.blobstore import Store

__all__ = [
    "CLEANED",
    "PRUNE",
    "BlobUse",
    "CacheInfo",
    "CacheVerification",
    "DamagedBlob",
    "cache_info",
    "clean_cache",
    "list_blobs",
    "plan_clean",
    "verify_cache",
]

#: What ``kmenv cache prune`` deletes: ``kmenv gc`` keeping every generation.
PRUNE = GcOptions(keep=None)

#: Folders ``clean`` empties; ``roots/`` and ``locks/`` stay.
CLEANED = ("blobs", "partial", "tmp", "index", "http", "verified", "quarantine")


@dataclass(frozen=True)
class CacheInfo:
    """Totals for ``kmenv cache info``; sizes in bytes.

    ``prunable_*``: the unreferenced blobs ``cache prune`` would delete now; ``held_back``: the others,
    by reason (``grace``: changed within ``grace_seconds``, an install may be about to record them;
    ``unreadable_root``: a root in ``unreadable_roots`` cannot be read, so no blob is deleted) →
    ``{"count", "bytes"}``. Unreferenced = prunable + held back.
    """

    cache: Path
    blobs: int
    blob_bytes: int
    partials: int
    partial_bytes: int
    metadata: int
    metadata_bytes: int
    index_entries: int
    environments: int
    missing_environments: int
    unreferenced_blobs: int
    unreferenced_bytes: int
    free_bytes: int
    prunable_blobs: int = 0
    prunable_bytes: int = 0
    held_back: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    grace_seconds: float = PRUNE.grace
    unreadable_roots: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        def plain(value: object) -> object:
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, tuple):
                return list(value)
            if isinstance(value, Mapping):
                return {k: dict(v) if isinstance(v, Mapping) else v for k, v in value.items()}
            return value

        return {k: plain(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class BlobUse:
    """One blob and the ``environment: model/path`` entries of kept generations that use it."""

    sha256: str
    size: int
    used_by: tuple[str, ...]


def _uses(snapshot: CacheSnapshot) -> dict[str, set[str]]:
    """sha256 → ``"<environment>: <model/path> (generation 1, 3)"`` for every kept generation using it,
    and ``"<folder>: <path> (download)"`` for every download folder still there."""
    found: dict[str, dict[str, set[int]]] = {}
    for env in snapshot.environments:
        if not env.exists:
            continue
        for number, files in env.root.generations.items():
            if number in env.generations:
                for sha, label in files.items():
                    found.setdefault(sha, {}).setdefault(f"{env.root.environment}: {label}", set()).add(number)
        for number, shas in env.unrecorded.items():
            for sha in shas:
                found.setdefault(sha, {}).setdefault(f"{env.root.environment}", set()).add(number)
    uses: dict[str, set[str]] = {}
    for sha, places in found.items():
        for place, numbers in places.items():
            word = "generation" if len(numbers) == 1 else "generations"
            uses.setdefault(sha, set()).add(f"{place} ({word} {', '.join(map(str, sorted(numbers)))})")
    for download in snapshot.downloads:
        if download.exists:
            for path, sha in download.root.files.items():
                uses.setdefault(sha, set()).add(f"{download.root.folder}: {path} (download)")
    return uses


def list_blobs(snapshot: CacheSnapshot) -> list[BlobUse]:
    """Every blob, biggest first, with what uses it."""
    uses = _uses(snapshot)
    blobs = [BlobUse(b.sha256, b.size, tuple(sorted(uses.get(b.sha256, ())))) for b in snapshot.blobs]
    return sorted(blobs, key=lambda b: (-b.size, b.sha256))


def cache_info(snapshot: CacheSnapshot) -> CacheInfo:
    """Counts and sizes of everything in the cache (free space is read from the disk).

    What prune would delete comes from the plan ``cache prune`` makes, so the two always agree.
    """
    uses = _uses(snapshot)
    plan = plan_gc(snapshot, PRUNE)
    prunable = [d for d in plan.deletions if d.kind == "blob"]
    damaged = [e.root.file for e in snapshot.environments if e.root.damaged]
    damaged += [d.root.file for d in snapshot.downloads if d.root.damaged]
    loose = snapshot.loose
    unreferenced = [b for b in snapshot.blobs if b.sha256 not in uses]
    probe = snapshot.cache
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return CacheInfo(
        cache=snapshot.cache,
        blobs=len(snapshot.blobs),
        blob_bytes=sum(b.size for b in snapshot.blobs),
        partials=sum(1 for f in loose if f.kind == "partial"),
        partial_bytes=sum(f.size for f in loose if f.kind == "partial"),
        metadata=sum(1 for f in loose if f.kind == "metadata"),
        metadata_bytes=sum(f.size for f in loose if f.kind == "metadata"),
        index_entries=sum(1 for f in loose if f.kind == "index"),
        environments=sum(1 for e in snapshot.environments if e.exists),
        missing_environments=sum(1 for e in snapshot.environments if not e.exists),
        unreferenced_blobs=len(unreferenced),
        unreferenced_bytes=sum(b.size for b in unreferenced),
        free_bytes=shutil.disk_usage(probe).free,
        prunable_blobs=len(prunable),
        prunable_bytes=sum(d.size for d in prunable),
        held_back={reason: {"count": c, "bytes": b} for reason, (c, b) in plan.held_back.items()},
        grace_seconds=PRUNE.grace,
        unreadable_roots=tuple(str(f) for f in sorted(damaged)),
    )


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            try:
                total += (Path(dirpath) / name).lstat().st_size
            except FileNotFoundError:
                continue
    return total


def plan_clean(cache: Path) -> list[tuple[Path, int]]:
    """The folders ``clean`` would delete, with their sizes (only those that exist)."""
    return [(cache / name, _size(cache / name)) for name in CLEANED if (cache / name).exists()]


def clean_cache(cache: Path) -> int:
    """Empty the store (see the module docstring); the bytes freed.

    Each folder is first renamed out of the way (atomic), so an interrupted clean never leaves
    a half-deleted folder in use.
    """
    freed = 0
    for folder, size in plan_clean(cache):
        trash = cache / f".trash-{folder.name}-{secrets.token_hex(4)}"
        try:
            os.rename(folder, trash)
        except FileNotFoundError:
            continue
        remove_tree(trash)
        freed += size
    for leftover in cache.glob(".trash-*"):  # from an earlier, interrupted clean
        remove_tree(leftover)
    return freed


@dataclass(frozen=True)
class DamagedBlob:
    """A blob whose bytes no longer match its name: what was done (``kept``, ``removed``, ``quarantined``),
    where a quarantined one went, and the environments (generations) and download folders linking it."""

    sha256: str
    size: int
    actual: str
    action: str
    moved_to: str | None
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class CacheVerification:
    """``kmenv cache verify``: how many blobs and bytes were hashed, and the damaged ones."""

    cache: Path
    blobs: int
    bytes: int
    damaged: tuple[DamagedBlob, ...]

    @property
    def ok(self) -> bool:
        return not self.damaged

    def to_dict(self) -> dict[str, object]:
        return {
            "cache": str(self.cache),
            "ok": self.ok,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "damaged": [d.__dict__ | {"used_by": list(d.used_by)} for d in self.damaged],
        }


def _users(cache: Path) -> dict[str, set[str]]:
    """sha256 → the environments (with generations) and download folders the cache's roots say use it."""
    from kmenv.store.roots import read_download_roots, read_roots

    users: dict[str, set[str]] = {}
    for root in read_roots(cache):
        for number, files in root.generations.items():
            for sha in files:
                users.setdefault(sha, set()).add(f"{root.environment} (generation {number})")
    for download in read_download_roots(cache):
        for sha in download.blobs():
            users.setdefault(sha, set()).add(f"{download.folder} (download)")
    return users


def verify_cache(
    store: Store, *, workers: int = 4, progress: ProgressSink | None = None, fix: str | None = None
) -> CacheVerification:
    """Hash every blob again, whatever its seal says; seal the intact ones; ``fix`` (``remove`` or
    ``quarantine``) takes damaged ones out of the store so the next install fetches them again."""
    from kmenv.fetch.progress import NullProgress, SerialProgress
    from kmenv.store.digests import is_sha256
    from kmenv.store.integrity import hash_file, quarantine_blob, remove_blob, seal_blob

    blobs: list[tuple[str, Path, os.stat_result]] = []
    for dirpath, _dirs, names in os.walk(store.root / "blobs" / "sha256"):
        for name in sorted(names):
            path = Path(dirpath) / name
            with contextlib.suppress(FileNotFoundError):
                if is_sha256(name):
                    blobs.append((name, path, path.stat()))
    sink = SerialProgress(progress or NullProgress())
    sink.begin(len(blobs), sum(info.st_size for _, _, info in blobs))

    def check(blob: tuple[str, Path, os.stat_result]) -> str | None:
        sha, path, info = blob
        sink.start(sha[:16], info.st_size)
        try:
            actual = hash_file(path, lambda n: sink.advance(sha[:16], n))
        except FileNotFoundError:  # gc or another verify took it meanwhile
            return None
        finally:
            sink.finish(sha[:16])
        if actual == sha:
            seal_blob(store.root, sha, info)
            return None
        return actual

    try:
        with ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="kmenv-verify") as pool:
            results = list(pool.map(check, blobs))
    finally:
        sink.end()
    users = _users(store.root)
    damaged = []
    for (sha, _path, info), actual in zip(blobs, results, strict=True):
        if actual is None:
            continue
        moved = None
        if fix == "quarantine":
            moved = str(quarantine_blob(store.root, sha))
        elif fix == "remove":
            remove_blob(store.root, sha)
        action = {"quarantine": "quarantined", "remove": "removed"}.get(fix or "", "kept")
        damaged.append(DamagedBlob(sha, info.st_size, actual, action, moved, tuple(sorted(users.get(sha, ())))))
    total = sum(info.st_size for _, _, info in blobs)
    return CacheVerification(store.root, len(blobs), total, tuple(damaged))
