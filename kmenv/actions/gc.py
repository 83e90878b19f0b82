"""``kmenv gc``, ``kmenv cache prune`` and the cleanup after ``install``: scan, plan, delete, record a ``gc`` event.

The store owns the steps: :mod:`kmenv.store.gc_scan` reads the cache, :mod:`kmenv.store.gc_plan` decides
what goes (pure, so ``--dry-run`` shows exactly what would happen) and :mod:`kmenv.store.gc_delete` deletes
it references-first. This module adds what the store cannot know: when the ledger last saw each environment
and each model used, how to open an environment folder, and the event the run leaves in the ledger.

After a successful install, :func:`cleanup_after_install` keeps the project's last ``keep-generations``
generations and, with a size budget, evicts the least recently used blobs nothing kept needs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.actions.cleanup_policy import Cleanup, CleanupPolicy
from kmenv.actions.project import environment_at
from kmenv.ledger.events import LIVE_KINDS, Event
from kmenv.store.gc_delete import GcResult, execute_plan
from kmenv.store.gc_plan import CacheSnapshot, Deletion, GcOptions, GcPlan, plan_gc
from kmenv.store.gc_scan import scan_cache

if TYPE_CHECKING:
    from kmenv.ledger.database import UsageLedger
    from kmenv.store.blobstore import Store

__all__ = [
    "cleanup_after_install",
    "collect_garbage",
    "plan_collection",
    "scan",
]


def _blob_last_use(snapshot: CacheSnapshot, ledger: UsageLedger) -> dict[str, float]:
    """sha256 → the ledger's last install or use of a model whose recorded files hold it.

    Roots name each file as ``model/path`` per generation, and the ledger records uses per environment and model,
    so a blob's last use is the latest of the models that hold it (blobs of no recorded generation get none).
    """
    when: dict[tuple[str | None, str | None], float] = {}
    for event in ledger.events(kinds=LIVE_KINDS):
        key = (event.environment, event.model)
        when[key] = max(when.get(key, 0.0), event.time or 0.0)
    found: dict[str, float] = {}
    for env in snapshot.environments:
        place = str(env.root.environment)
        for files in env.root.generations.values():
            for sha, label in files.items():
                used = when.get((place, label.split("/", 1)[0]))
                if used is not None:
                    found[sha] = max(found.get(sha, 0.0), used)
    return found


def scan(store: Store, ledger: UsageLedger, *, budget: int | None = None, now: float | None = None) -> CacheSnapshot:
    """The cache as it is now, with each environment's last use from the ledger (see :func:`scan_cache`).

    When the blobs hold more than ``budget`` bytes, also each blob's last use, which only eviction needs (it reads
    every use event of the ledger).
    """
    try:
        last_use = dict(ledger.last_use_times())
    except Exception:  # the ledger is optional: gc then relies on the roots' own timestamps
        last_use = {}
    snapshot = scan_cache(store.root, open_environment=environment_at, last_use=last_use, now=now)
    if budget is not None and sum(b.size for b in snapshot.blobs) > budget:
        snapshot = dataclasses.replace(snapshot, last_use=_blob_last_use(snapshot, ledger))
    return snapshot


def plan_collection(store: Store, ledger: UsageLedger, options: GcOptions, *, now: float | None = None) -> GcPlan:
    """What ``kmenv gc`` (or ``cache prune``) would delete now; nothing is touched."""
    return plan_gc(scan(store, ledger, budget=options.cache_max, now=now), options)


def collect_garbage(plan: GcPlan, store: Store, ledger: UsageLedger) -> GcResult | None:
    """Execute ``plan`` (None when it deletes nothing) and record a ``gc`` event with what was freed."""
    result = execute_plan(plan, store.root, open_environment=environment_at) if plan.deletions else None
    freed, deleted = (result.freed, result.deleted) if result is not None else (0, 0)
    ledger.record([Event("gc", nbytes=freed, detail={"deleted": deleted})])
    return result


# --- cleanup after an install ---------------------------------------------------------------------------------------


def cleanup_after_install(
    store: Store, ledger: UsageLedger, environment: Path, policy: CleanupPolicy, *, now: float | None = None
) -> Cleanup:
    """Keep ``policy.keep`` generations of ``environment`` and, over a budget, evict the least recently used blobs.

    Nothing else is touched (other environments' generations, records, partials and metadata are ``kmenv gc``'s),
    and every rule of :func:`~kmenv.store.gc_plan.plan_gc` holds: no blob a kept generation of any environment or a
    download folder needs goes, nor one changed within the last hour.
    """
    options = GcOptions(
        keep=policy.keep, cache_max=policy.cache_max, only=frozenset({Path(environment).absolute()}), tidy=False
    )
    if policy.cache_max is None:  # no budget: unused blobs stay as a cache, and only generations go
        options = dataclasses.replace(options, cache_max=2**63)
    plan = plan_collection(store, ledger, options, now=now)
    generations = blobs = blob_bytes = 0
    if plan.deletions:
        counted: dict[str, list[int]] = {"generation": [0, 0], "blob": [0, 0]}

        def count(item: Deletion) -> None:
            if item.kind in counted:
                counted[item.kind][0] += 1
                counted[item.kind][1] += item.size

        result = execute_plan(plan, store.root, open_environment=environment_at, on_delete=count)
        generations, (blobs, blob_bytes) = counted["generation"][0], counted["blob"]
        ledger.record([Event("gc", nbytes=result.freed, detail={"deleted": result.deleted, "after": "install"})])
    return Cleanup(generations, blobs, blob_bytes, plan.warnings)
