"""``kmenv gc`` and ``kmenv cache prune`` as the CLI runs them: scan, plan, delete, record a ``gc`` event.

The store owns the steps: :mod:`kmenv.store.gc_scan` reads the cache, :mod:`kmenv.store.gc_plan` decides
what goes (pure, so ``--dry-run`` shows exactly what would happen) and :mod:`kmenv.store.gc_delete` deletes
it references-first. This module adds what the store cannot know: when the ledger last saw each environment
used, how to open an environment folder, and the event the run leaves in the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmenv.actions.project import environment_at
from kmenv.ledger.events import Event
from kmenv.store.gc_delete import GcResult, execute_plan
from kmenv.store.gc_plan import CacheSnapshot, GcOptions, GcPlan, plan_gc
from kmenv.store.gc_scan import scan_cache

if TYPE_CHECKING:
    from kmenv.ledger.database import UsageLedger
    from kmenv.store.blobstore import Store

__all__ = ["collect_garbage", "plan_collection", "scan"]


def scan(store: Store, ledger: UsageLedger) -> CacheSnapshot:
    """The cache as it is now, with each environment's last use from the ledger (see :func:`scan_cache`)."""
    try:
        last_use = dict(ledger.last_use_times())
    except Exception:  # the ledger is optional: gc then relies on the roots' own timestamps
        last_use = {}
    return scan_cache(store.root, open_environment=environment_at, last_use=last_use)


def plan_collection(store: Store, ledger: UsageLedger, options: GcOptions) -> GcPlan:
    """What ``kmenv gc`` (or ``cache prune``) would delete now; nothing is touched."""
    return plan_gc(scan(store, ledger), options)


def collect_garbage(plan: GcPlan, store: Store, ledger: UsageLedger) -> GcResult | None:
    """Execute ``plan`` (None when it deletes nothing) and record a ``gc`` event with what was freed."""
    result = execute_plan(plan, store.root, open_environment=environment_at) if plan.deletions else None
    freed, deleted = (result.freed, result.deleted) if result is not None else (0, 0)
    ledger.record([Event("gc", nbytes=freed, detail={"deleted": deleted})])
    return result
