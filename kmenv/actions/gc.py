"""``kmenv gc`` and ``kmenv cache prune``: read the cache, plan what can go, then delete in a safe order.

The plan itself is pure and lives in :mod:`kmenv.store.gc_plan`. Here:

- :func:`scan_cache` (I/O) reads the cache and every environment its roots name into a
  :class:`~kmenv.store.gc_plan.CacheSnapshot`;
- :func:`execute_plan` (I/O) deletes references before what they reference: old generations,
  then roots, then digest-index entries, then blobs, then partial downloads and old metadata.
  Interrupted at any point, every kept generation still has its blobs.

:func:`plan_collection` and :func:`collect_garbage` are the use case as the CLI runs it: scan and
plan through the store and the ledger, then execute and record a ``gc`` event.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import UsageError
from kmenv.ledger.events import Event
from kmenv.store.digests import is_sha256
from kmenv.store.gc_plan import (
    BlobFile,
    CacheSnapshot,
    Deletion,
    EnvironmentSnapshot,
    GcOptions,
    GcPlan,
    LooseFile,
    plan_gc,
)
from kmenv.store.partials import pid_alive
from kmenv.store.roots import Root, forget_generations, read_roots

if TYPE_CHECKING:
    from kmenv.ledger.database import UsageLedger
    from kmenv.store.blobstore import Store

__all__ = [
    "GcResult",
    "collect_garbage",
    "execute_plan",
    "plan_collection",
    "remove_tree",
    "scan",
    "scan_cache",
]

_HOST = os.uname().nodename


@dataclass(frozen=True)
class GcResult:
    """What :func:`execute_plan` did: ``deleted`` things, ``freed`` bytes, and ``skipped`` ones with reasons."""

    deleted: int
    freed: int
    skipped: tuple[str, ...] = ()


# scanning (I/O) ---------------------------------------------------------------------------------


def _files(folder: Path) -> Iterable[tuple[Path, os.stat_result]]:
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            try:
                yield path, path.lstat()
            except FileNotFoundError:
                continue


def _partial(path: Path, info: os.stat_result) -> LooseFile:
    """A file under ``partial/`` or ``tmp/``: for whom, and whether a live writer on this host owns it.

    Private temp files are ``<key>.<host>-<pid>-<random>.tmp`` (plus ``.json`` beside them).
    """
    key, _, rest = path.name.partition(".")
    alive = False
    for suffix in (".tmp", ".tmp.json"):
        if rest.endswith(suffix):
            host, _, pid = rest[: -len(suffix)].rpartition("-")[0].rpartition("-")
            alive = host == _HOST and pid.isdigit() and pid_alive(int(pid))
    points_to = key if is_sha256(key) else None
    return LooseFile("partial", path, info.st_size, info.st_mtime, alive=alive, points_to=points_to)


def _generation_files(folder: Path) -> tuple[int, dict[tuple[int, int], int]]:
    """Bytes only this generation holds (files with one link), and (size, inode)→count of its files."""
    own = 0
    inodes: dict[tuple[int, int], int] = {}
    for _path, info in _files(folder):
        if info.st_nlink <= 1:
            own += info.st_size
        inodes[(info.st_dev, info.st_ino)] = info.st_size
    return own, inodes


def _read_environment(
    root: Root, last_use: Mapping[str, float], blobs: Mapping[tuple[int, int], str]
) -> EnvironmentSnapshot:
    from kmenv.actions.project import environment_at

    env = environment_at(root.environment)
    used = max(root.updated, last_use.get(str(root.environment), 0.0))
    if root.damaged or not (root.environment / "generations").is_dir():
        return EnvironmentSnapshot(root, False, None, {}, used)
    try:
        current = env.current()
    except Exception:  # a damaged link: treat as no current generation, keep everything recorded
        current = None
    sizes: dict[int, int] = {}
    unrecorded: dict[int, frozenset[str]] = {}
    for number in env.generations():
        own, inodes = _generation_files(env.generation_path(number))
        sizes[number] = own
        if number not in root.generations:
            # Built before roots existed (or the root was lost): protect the blobs it hard-links.
            unrecorded[number] = frozenset(blobs[key] for key in inodes if key in blobs)
    return EnvironmentSnapshot(root, True, current, sizes, used, unrecorded)


def scan_cache(cache: Path, *, last_use: Mapping[str, float] | None = None, now: float | None = None) -> CacheSnapshot:
    """Read the cache and the environments its roots name (no changes made)."""
    cache = Path(cache)
    blobs: list[BlobFile] = []
    by_inode: dict[tuple[int, int], str] = {}
    for path, info in _files(cache / "blobs" / "sha256"):
        if is_sha256(path.name):
            blobs.append(BlobFile(path.name, path, info.st_size, info.st_ctime))
            by_inode[(info.st_dev, info.st_ino)] = path.name
    loose: list[LooseFile] = []
    for sub in ("partial", "tmp"):
        loose += [_partial(path, info) for path, info in _files(cache / sub)]
    loose += [LooseFile("metadata", path, info.st_size, info.st_mtime) for path, info in _files(cache / "http")]
    for path, info in _files(cache / "index"):
        try:
            target = path.read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            target = ""
        loose.append(LooseFile("index", path, info.st_size, info.st_mtime, points_to=target))
    environments = tuple(_read_environment(root, last_use or {}, by_inode) for root in read_roots(cache))
    return CacheSnapshot(
        cache,
        time.time() if now is None else now,
        tuple(sorted(blobs, key=lambda b: b.sha256)),
        tuple(loose),
        environments,
    )


# executing (I/O) --------------------------------------------------------------------------------


def execute_plan(plan: GcPlan, cache: Path, *, on_delete: Callable[[Deletion], None] | None = None) -> GcResult:
    """Delete what ``plan`` lists, references first (see the module docstring); tolerant of things already gone."""
    from kmenv.actions.project import environment_at

    deleted = freed = 0
    skipped: list[str] = []
    roots = {r.environment: r for r in read_roots(cache)}
    protected: set[str] | None = None  # read again just before the first blob goes
    for item in plan.deletions:
        if item.kind == "generation" and item.environment is not None and item.generation is not None:
            env = environment_at(item.environment)
            try:
                env.remove(item.generation)
            except UsageError:
                skipped.append(f"{item.path}: in use again")
                continue
        elif item.kind == "root":
            if item.environment is not None and (item.environment / "generations").is_dir():
                skipped.append(f"{item.path}: the environment is back")
                continue
            item.path.unlink(missing_ok=True)
        else:
            if item.kind == "blob":
                if protected is None:
                    protected = _still_protected(cache, plan)
                if item.path.name in protected or "*" in protected:
                    skipped.append(f"{item.path}: an install started using it")
                    continue
            try:
                item.path.unlink()
            except FileNotFoundError:
                continue
        if item.kind == "generation":
            root = roots.get(item.environment) if item.environment else None
            if root is not None:
                forget_generations(root, [item.generation] if item.generation is not None else [])
        deleted += 1
        freed += item.size
        if on_delete is not None:
            on_delete(item)
    _remove_empty_folders(cache)
    return GcResult(deleted, freed, tuple(skipped))


def _still_protected(cache: Path, plan: GcPlan) -> set[str]:
    """Blobs of generations recorded since the plan was made (an install ran meanwhile): they must stay."""
    protected: set[str] = set()
    for root in read_roots(cache):
        if root.damaged:
            return {"*"}  # an unreadable root appeared since the plan: delete no blob
        known = set(plan.seen.get(str(root.environment), ()))
        protected |= root.blobs(set(root.generations) - known)
    return protected


def _remove_empty_folders(cache: Path) -> None:
    for sub in ("blobs/sha256", "index", "http"):
        base = cache / sub
        for dirpath, _dirs, _names in sorted(os.walk(base), key=lambda t: -len(t[0])):
            if Path(dirpath) != base:
                with contextlib.suppress(OSError):  # not empty: something new arrived
                    os.rmdir(dirpath)


def remove_tree(path: Path) -> None:
    """Delete a folder; used by ``cache clean`` after renaming it out of the way."""
    shutil.rmtree(path, ignore_errors=True)


# the whole use case -----------------------------------------------------------------------------


def scan(store: Store, ledger: UsageLedger) -> CacheSnapshot:
    """The cache as it is now, with each environment's last use from the ledger (see :func:`scan_cache`)."""
    try:
        last_use = dict(ledger.last_use_times())
    except Exception:  # the ledger is optional: gc then relies on the roots' own timestamps
        last_use = {}
    return scan_cache(store.root, last_use=last_use)


def plan_collection(store: Store, ledger: UsageLedger, options: GcOptions) -> GcPlan:
    """What ``kmenv gc`` (or ``cache prune``) would delete now; nothing is touched."""
    return plan_gc(scan(store, ledger), options)


def collect_garbage(plan: GcPlan, store: Store, ledger: UsageLedger) -> GcResult | None:
    """Execute ``plan`` (None when it deletes nothing) and record a ``gc`` event with what was freed."""
    result = execute_plan(plan, store.root) if plan.deletions else None
    freed, deleted = (result.freed, result.deleted) if result is not None else (0, 0)
    ledger.record([Event("gc", nbytes=freed, detail={"deleted": deleted})])
    return result
