"""Executing a gc plan so that an interrupted run leaves every kept generation with all its blobs.

References go before what they reference (:data:`~kmenv.store.gc_plan.ORDER`): old generations, then
roots (of environments, then of download folders), then digest-index entries, then blobs, then partial
downloads and old metadata. Just before the first blob goes the roots are read again, so a generation
recorded since the plan was made (an install ran meanwhile) keeps its blobs, and so does a download
recorded meanwhile. The store sits below the environment layer, so generations are removed through the
folders ``open_environment`` opens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kmenv.errors import UsageError
from kmenv.store.folders import folders_held
from kmenv.store.gc_plan import Deletion, GcPlan
from kmenv.store.integrity import SEALS, forget_seal
from kmenv.store.roots import forget_generations, read_download_roots, read_roots

__all__ = ["EnvironmentRemover", "GcResult", "execute_plan", "remove_tree"]


class EnvironmentRemover(Protocol):
    """How gc deletes a generation (:class:`kmenv.environment.generations.EnvironmentDir` is one).

    ``remove`` raises :class:`~kmenv.errors.UsageError` when the generation is in use.
    """

    def remove(self, generation: int) -> None: ...


@dataclass(frozen=True)
class GcResult:
    """What :func:`execute_plan` did: ``deleted`` things, ``freed`` bytes, and ``skipped`` ones with reasons."""

    deleted: int
    freed: int
    skipped: tuple[str, ...] = ()


def execute_plan(
    plan: GcPlan,
    cache: Path,
    *,
    open_environment: Callable[[Path], EnvironmentRemover],
    on_delete: Callable[[Deletion], None] | None = None,
) -> GcResult:
    """Delete what ``plan`` lists, references first (see the module docstring); tolerant of things already gone."""
    deleted = freed = 0
    skipped: list[str] = []
    roots = {r.environment: r for r in read_roots(cache)}
    protected: dict[str, str] | None = None  # read again just before the first blob goes
    for item in plan.deletions:
        if item.kind == "generation" and item.environment is not None and item.generation is not None:
            env = open_environment(item.environment)
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
        elif item.kind == "download":
            if item.environment is not None and item.environment.is_dir():
                skipped.append(f"{item.path}: the download folder is back")
                continue
            item.path.unlink(missing_ok=True)
        else:
            if item.kind == "blob":
                if protected is None:
                    protected = _still_protected(cache, plan)
                why = protected.get(item.path.name) or protected.get("*")
                if why is not None:
                    skipped.append(f"{item.path}: {why}")
                    continue
            try:
                item.path.unlink()
            except FileNotFoundError:
                continue
            if item.kind == "blob":
                forget_seal(cache, item.path.name)
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


def _still_protected(cache: Path, plan: GcPlan) -> dict[str, str]:
    """Blobs recorded since the plan was made (an install or a download ran meanwhile) → why they must stay.

    ``"*"`` stands for every blob: an unreadable root appeared since the plan.
    """
    protected: dict[str, str] = {}
    for download in read_download_roots(cache):  # those of vanished folders were deleted above
        if download.damaged:
            return {"*": "an unreadable download root appeared"}
        protected |= dict.fromkeys(download.blobs(), "a download folder uses it")
    for root in read_roots(cache):
        if root.damaged:
            return {"*": "an unreadable root appeared"}  # delete no blob
        known = set(plan.seen.get(str(root.environment), ()))
        protected |= dict.fromkeys(root.blobs(set(root.generations) - known), "an install started using it")
    return protected


def _remove_empty_folders(cache: Path) -> None:
    """Remove empty shard folders of blobs and index entries, holding the store's folder lock exclusively.

    Writers create and fill those folders under the same lock, shared (:mod:`kmenv.store.folders`), so a
    folder a blob is being published into is never swept away. ``http/`` is left alone: the registry
    cache writes there without the lock, and its few host folders cost nothing. ``partial/`` and the
    other top folders are never removed.
    """
    if not cache.is_dir():
        return
    with folders_held(cache, exclusive=True):
        for sub in ("blobs/sha256", "index", SEALS):
            base = cache / sub
            for dirpath, _dirs, _names in sorted(os.walk(base), key=lambda t: -len(t[0])):
                if Path(dirpath) != base:
                    with contextlib.suppress(OSError):  # not empty: something new arrived
                        os.rmdir(dirpath)


def remove_tree(path: Path) -> None:
    """Delete a folder; used by ``cache clean`` after renaming it out of the way."""
    shutil.rmtree(path, ignore_errors=True)
