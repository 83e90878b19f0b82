"""``kmenv cache info|list|clean``: what the store holds, who uses it, and emptying it.

``prune`` is :mod:`kmenv.actions.gc` keeping every generation (:data:`PRUNE`); ``info`` counts what it
would delete from the same plan, and why the other unreferenced blobs stay. ``clean`` empties the
store but keeps the roots (the record of environments) and the lock files (another process may
hold one right now); environments keep working, since their files are links or copies.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kmenv.store.gc_delete import remove_tree
from kmenv.store.gc_plan import CacheSnapshot, GcOptions, plan_gc

__all__ = ["CLEANED", "PRUNE", "BlobUse", "CacheInfo", "cache_info", "clean_cache", "list_blobs", "plan_clean"]

#: What ``kmenv cache prune`` deletes: ``kmenv gc`` keeping every generation.
PRUNE = GcOptions(keep=None)

#: Folders ``clean`` empties; ``roots/`` and ``locks/`` stay.
CLEANED = ("blobs", "partial", "tmp", "index", "http")


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
