"""Lock time stays linear in the models: the work per resolved model, the memory a resolve leaves, the collector.

Counted, not timed: the resolver's calls per resolved model must not grow with the project (a quadratic
search makes them grow with n), a resolve must leave no reference cycle (its memo would then outlive it
until a full collection), and full collections must wait while a resolve runs (each would rescan every
object the process holds, which made lock time grow faster than the model count).
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kmenv.registry.memory import MemoryRegistry
from kmenv.resolve import Requirement, Resolution, _provider, resolve
from kmenv.resolve._collector import full_collections_held
from kmenv.values.candidates import Candidate
from kmenv.values.handles import Handle

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_lock.py"
#: The provider's answers resolvelib asks for; together with ``Requirement.admits`` they are the search's work.
COUNTED = ("find_matches", "is_satisfied_by", "get_dependencies", "_preference", "base_of")


@cache
def _bench() -> ModuleType:
    """The benchmark's workload generator: shared bases, conflicting ranges, licences, environment misses."""
    spec = importlib.util.spec_from_file_location("bench_lock", BENCH)
    assert spec is not None and spec.loader is not None
    module = sys.modules.setdefault("bench_lock", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


def _resolve_bench(declared: int) -> Resolution:
    """A bench-shaped project; the registry grows with it, so groups of models sharing a base keep their size."""
    bench = _bench()
    work = bench.generate(instances=declared * 10, versions=8, declared=declared, seed=11)
    registries = {bench.REGISTRY: MemoryRegistry(bench.REGISTRY, work.candidates)}
    return resolve(work.requirements, registries, bench.ENVIRONMENT, bench.POLICY)


def _counting(tally: Counter[str], name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        tally[name] += 1
        return original(*args, **kwargs)

    return counted


def _work_per_model(declared: int) -> float:
    """The search's calls (every counted provider answer and requirement check) per resolved model."""
    tally: Counter[str] = Counter()
    with pytest.MonkeyPatch.context() as patch:
        for name in COUNTED:
            patch.setattr(_provider.ModelProvider, name, _counting(tally, name, getattr(_provider.ModelProvider, name)))
        patch.setattr(Requirement, "admits", _counting(tally, "admits", Requirement.admits))
        resolution = _resolve_bench(declared)
    assert all(tally[name] for name in (*COUNTED, "admits")), tally  # every counter is on the path it measures
    return sum(tally.values()) / len(resolution.models)


def test_the_work_per_resolved_model_does_not_grow_with_the_project() -> None:
    small, large = _work_per_model(40), _work_per_model(320)
    # 8x the models: linear work keeps the ratio near 1; a search re-examining every model per pin makes it ~8
    assert large <= 1.3 * small, (small, large)


def _cyclic_garbage(action: Callable[[], object]) -> int:
    """How many objects ``action`` left that only the cycle collector can free."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        action()
        return gc.collect()
    finally:
        if was_enabled:
            gc.enable()


def test_a_resolve_leaves_no_reference_cycle_behind() -> None:
    """Its memo tables (~150 objects per model) are freed on return, not at some later full collection."""
    assert _cyclic_garbage(lambda: _resolve_bench(60)) == 0


class _Watched(MemoryRegistry):
    """A memory registry that notes the collector's full-collection threshold whenever the resolver asks it."""

    def __init__(self, name: str, candidates: Sequence[Candidate]) -> None:
        super().__init__(name, candidates)
        self.thresholds: list[int] = []

    def versions(self, instance: Handle) -> Sequence[Candidate]:
        self.thresholds.append(gc.get_threshold()[2])
        return super().versions(instance)


def test_full_collections_wait_while_a_resolve_runs_and_come_back_after() -> None:
    bench = _bench()
    work = bench.generate(instances=400, versions=8, declared=40, seed=11)
    registry = _Watched(bench.REGISTRY, work.candidates)
    before = gc.get_threshold()
    resolve(work.requirements, {bench.REGISTRY: registry}, bench.ENVIRONMENT, bench.POLICY)
    assert registry.thresholds and all(t > 1_000_000 for t in registry.thresholds)
    assert gc.get_threshold() == before


def test_young_collections_still_run_during_a_resolve() -> None:
    """Short-lived cycles made meanwhile (a registry client's, say) are freed at once, not held until the end."""
    collected: Counter[int] = Counter()

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collected[info["generation"]] += 1

    gc.callbacks.append(note)
    try:
        with full_collections_held():
            for _ in range(20_000):  # enough allocations for many young passes, none of them full
                pair: list[object] = []
                pair.append(pair)
    finally:
        gc.callbacks.remove(note)
    assert collected[0] > 0
    assert collected[2] == 0


def _held(started: threading.Event, release: threading.Event) -> Iterator[None]:
    with full_collections_held():
        started.set()
        release.wait(5)
        yield


def test_overlapping_holds_give_the_thresholds_back_only_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=lambda: list(_held(started, release)))
    worker.start()
    assert started.wait(5)
    with full_collections_held():
        pass  # ends first: the worker still holds
    held_meanwhile = gc.get_threshold()
    release.set()
    worker.join(5)
    assert held_meanwhile[2] > 1_000_000
    assert gc.get_threshold() == before
