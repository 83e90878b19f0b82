"""``kmenv cache info|list|clean``: what the store holds, who uses it, and emptying it.

``prune`` is :mod:`kmenv.actions.gc` keeping every generation. ``clean`` empties the
store but keeps the roots (the record of environments) and the lock files (another process may
hold one right now); environments keep working, since their files are links or copies.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from kmenv.store.gc_delete import remove_tree
from kmenv.store.gc_plan import CacheSnapshot

__all__ = ["CLEANED", "BlobUse", "CacheInfo", "cache_info", "clean_cache", "list_blobs", "plan_clean"]

#: Folders ``clean`` empties; ``roots/`` and ``locks/`` stay.
CLEANED = ("blobs", "partial", "tmp", "index", "http")


@dataclass(frozen=True)
class CacheInfo:
    """Totals for ``kmenv cache info``; sizes in bytes."""

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

    def to_dict(self) -> dict[str, object]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


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
    """Counts and sizes of everything in the cache (free space is read from the disk)."""
    uses = _uses(snapshot)
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
