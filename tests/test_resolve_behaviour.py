"""Resolver behaviour beyond single cases: determinism, no backtracking on model forests, bounds, hooks, bad input."""

from __future__ import annotations

import functools
import importlib.util
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest
from resolve_cases import all_cases, candidates, load, requirement

import kmenv.resolve
from kmenv.errors import ModelNotFoundError, NetworkError, ResolutionImpossible, UsageError
from kmenv.policy import AllowAll
from kmenv.registry.memory import MemoryRegistry
from kmenv.resolve import Requirement, Resolution, ResolveReporter, resolve
from kmenv.resolve._provider import derived_name
from kmenv.resolve._wording import version_ranges
from kmenv.values.candidates import BaseModelRef, Candidate
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

ANYWHERE = TargetEnvironment.unconstrained()
BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_lock.py"


@functools.cache
def _bench() -> ModuleType:
    """The benchmark's workload generator, so tests and benchmark exercise the same kind of project."""
    spec = importlib.util.spec_from_file_location("bench_lock", BENCH)
    assert spec is not None and spec.loader is not None
    module = sys.modules.setdefault("bench_lock", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


def _registry(instances: dict[str, dict[str, dict[str, object]]]) -> dict[str, MemoryRegistry]:
    return {"kaggle": MemoryRegistry("kaggle", candidates("kaggle", instances))}


class Tally(ResolveReporter):
    """Counts what the resolver reports; overrides every hook to prove they are called."""

    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.pins: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()

    def fetching(self, handle: Handle) -> None:
        self.fetched.append(str(handle))

    def pinned(self, name: str, version: int) -> None:
        self.pins[name] += 1

    def rejected(self, name: str, version: int) -> None:
        self.rejections[name] += 1


# -- determinism -------------------------------------------------------------------------------------------------------


def _shuffled(rng: random.Random, requirements: Sequence[Requirement], held: Sequence[Candidate]) -> Resolution:
    reqs, cands = list(requirements), list(held)
    rng.shuffle(reqs)
    rng.shuffle(cands)
    return resolve(reqs, {"kaggle": MemoryRegistry("kaggle", cands)}, ANYWHERE, AllowAll())


@pytest.mark.parametrize("path", [p for p in all_cases() if "error" not in p.stem], ids=lambda p: p.stem)
def test_same_case_in_any_order_resolves_the_same(path: Path) -> None:
    case = load(path)
    first = resolve(case.requirements, case.registries, case.environment, case.policy, preferred=case.preferred)
    for seed in range(3):
        rng = random.Random(seed)
        reqs = rng.sample(case.requirements, len(case.requirements))
        names = rng.sample(sorted(case.held), len(case.held))
        registries = {name: MemoryRegistry(name, rng.sample(case.held[name], len(case.held[name]))) for name in names}
        again = resolve(reqs, registries, case.environment, case.policy, preferred=case.preferred)
        assert again == first


def test_generated_project_resolves_the_same_whatever_the_input_order() -> None:
    work = _bench().generate(instances=150, versions=12, declared=40, seed=3)
    first = resolve(work.requirements, {"kaggle": MemoryRegistry("kaggle", work.candidates)}, ANYWHERE, AllowAll())
    for seed in range(3):
        assert _shuffled(random.Random(seed), work.requirements, work.candidates) == first


# -- the look-ahead ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shared_bases_resolve_without_backtracking_and_every_range_holds(seed: int) -> None:
    bench = _bench()
    work = bench.generate(instances=300, versions=15, declared=80, seed=seed)
    tally = Tally()
    registry = MemoryRegistry("kaggle", work.candidates)
    resolution = resolve(work.requirements, {"kaggle": registry}, bench.ENVIRONMENT, bench.POLICY, reporter=tally)
    assert sum(tally.rejections.values()) == 0
    assert set(tally.pins.values()) == {1}, "each model is pinned once: the plan holds"
    chosen = {m.name: m for m in resolution.models}
    for model in resolution.models:
        assert model.verdict.allowed
        assert not bench.ENVIRONMENT.unmet(model.candidate.requires)
        if model.base is not None:
            ref = model.candidate.base
            assert ref is not None
            assert Requirement("x", ref.handle, ref.versions, "kaggle").admits(chosen[model.base].candidate)
    declared = {r.name: r for r in work.requirements}
    assert all(declared[n].admits(chosen[n].candidate) for n in declared)


# -- bounds ------------------------------------------------------------------------------------------------------------


def test_the_round_limit_stops_the_search_with_advice() -> None:
    registries = _registry({"acme/a/onnx/v1": {"1-3": {}}, "acme/b/onnx/v1": {"1-3": {}}})
    reqs = [requirement("a", "acme/a/onnx/v1"), requirement("b", "acme/b/onnx/v1")]
    with pytest.raises(ResolutionImpossible) as caught:
        resolve(reqs, registries, ANYWHERE, AllowAll(), max_rounds=1)
    assert caught.value.message == "cannot resolve kmodels.yaml: gave up after 1 round without settling on versions"
    assert caught.value.hint == (
        "pin the models that keep changing to one version (models.<name>.version: ==N) to narrow the search, "
        "or raise the round limit"
    )


def test_a_declared_model_that_can_never_work_is_named_even_when_the_search_would_run_long() -> None:
    instances: dict[str, dict[str, dict[str, object]]] = {"google/gemma/transformers/2b": {"1-20": {}}}
    for i in range(5):  # five fine-tunes with sliding windows on one base: a large search space
        instances[f"acme/t{i}/transformers/v1"] = {
            str(v): {"base": f"google/gemma/transformers/2b >={v},<{v + 3}"} for v in range(1, 19)
        }
    instances["acme/zz/transformers/v1"] = {"1-5": {"base": "google/gemma/transformers/2b >=30"}}
    reqs = [requirement(f"t{i}", f"acme/t{i}/transformers/v1") for i in range(5)]
    reqs.append(requirement("zz", "acme/zz/transformers/v1"))
    with pytest.raises(ResolutionImpossible) as caught:
        resolve(reqs, _registry(instances), ANYWHERE, AllowAll())
    assert caught.value.message == "cannot resolve kmodels.yaml: no usable version of gemma-2b for zz"
    assert caught.value.causes == [
        "kmodels.yaml requires zz (acme/zz/transformers/v1) → zz 1–5 need base gemma-2b >=30 "
        "(google/gemma/transformers/2b) → no version satisfies >=30 (available: 1–20)"
    ]
    assert caught.value.hint == (
        "remove zz: no published google/gemma/transformers/2b version is in the range it needs (>=30)"
    )


# -- hooks -------------------------------------------------------------------------------------------------------------


def test_reporter_hears_fetches_and_pins_and_partial_reporters_work() -> None:
    registries = _registry(
        {"acme/lora/pyTorch/v1": {"1-2": {"base": "acme/base/pyTorch/v1"}}, "acme/base/pyTorch/v1": {"1": {}}}
    )
    tally = Tally()
    resolve([requirement("lora", "acme/lora/pyTorch/v1")], registries, ANYWHERE, AllowAll(), reporter=tally)
    assert tally.fetched == ["acme/lora/pyTorch/v1", "acme/base/pyTorch/v1"]
    assert tally.pins == {"lora": 1, "base-v1": 1}

    class OnlyPins(ResolveReporter):
        def __init__(self) -> None:
            self.pins: list[tuple[str, int]] = []

        def pinned(self, name: str, version: int) -> None:
            self.pins.append((name, version))

    only = OnlyPins()
    resolve([requirement("base", "acme/base/pyTorch/v1")], registries, ANYWHERE, AllowAll(), reporter=only)
    assert only.pins == [("base", 1)]


# -- bad input and registry trouble ------------------------------------------------------------------------------------


def test_an_undeclared_registry_is_a_usage_error_naming_the_key() -> None:
    req = Requirement("gemma", Handle.parse("google/gemma/transformers/2b"), "", "hf")
    with pytest.raises(UsageError) as caught:
        resolve([req], _registry({}), ANYWHERE, AllowAll())
    assert caught.value.message == "models.gemma.registry: 'hf' is not a declared registry"
    assert caught.value.hint == "declare it under registries, or use one of: kaggle"


def test_a_bad_version_range_is_a_usage_error_naming_the_key() -> None:
    req = requirement("gemma", "google/gemma/transformers/2b ~=2")
    with pytest.raises(UsageError) as caught:
        resolve([req], _registry({}), ANYWHERE, AllowAll())
    assert caught.value.message == "models.gemma.version: '~=2' is not a PEP 440 version specifier"
    assert caught.value.hint == "write a PEP 440 range over whole versions, e.g. >=2,<4 or ==3"


def test_an_unknown_model_is_the_registrys_own_error() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        resolve(
            [requirement("x", "acme/nothing/onnx/v1")], _registry({"acme/a/onnx/v1": {"1": {}}}), ANYWHERE, AllowAll()
        )
    assert caught.value.exit_code == 2  # a name the registry does not have: the user must fix it
    assert caught.value.message == "registry 'kaggle' has no model instance acme/nothing/onnx/v1"


def test_registry_errors_propagate_unchanged() -> None:
    failure = NetworkError("GET https://example.invalid/models failed after 3 tries")

    class Down(MemoryRegistry):
        def versions(self, instance: Handle) -> Sequence[Candidate]:
            raise failure

    with pytest.raises(NetworkError) as caught:
        resolve([requirement("a", "acme/a/onnx/v1")], {"kaggle": Down("kaggle", [])}, ANYWHERE, AllowAll())
    assert caught.value is failure


def test_a_base_in_an_undeclared_registry_says_which_registry_to_declare() -> None:
    base = BaseModelRef(Handle.parse("meta/llama/pyTorch/8b"), "", registry="hf")
    lora = Candidate(Handle.parse("acme/lora/pyTorch/v1/1"), "kaggle", "MIT", {}, base)
    registries = {"kaggle": MemoryRegistry("kaggle", [lora])}
    with pytest.raises(ResolutionImpossible) as caught:
        resolve([requirement("lora", "acme/lora/pyTorch/v1")], registries, ANYWHERE, AllowAll())
    assert caught.value.message == (
        "lora 1 needs base meta/llama/pyTorch/8b from registry 'hf', which kmodels.yaml does not declare"
    )
    assert caught.value.hint == "declare a registry named 'hf' under registries"


def test_a_versioned_handle_pins_that_version() -> None:
    registries = _registry({"google/gemma/transformers/2b": {"1-5": {}}})
    resolution = resolve([requirement("gemma", "google/gemma/transformers/2b/3")], registries, ANYWHERE, AllowAll())
    assert [m.candidate.version for m in resolution.models] == [3]


# -- small pieces ------------------------------------------------------------------------------------------------------


def test_version_ranges_collapse_runs() -> None:
    assert version_ranges([5, 1, 3, 4]) == "1, 3–5"
    assert version_ranges([2]) == "2"
    assert version_ranges([]) == ""


def test_derived_names_are_folder_safe_and_unique() -> None:
    assert derived_name(Handle.parse("google/gemma/transformers/2B-IT"), set()) == "gemma-2b-it"
    assert derived_name(Handle.parse("google/gemma"), {"gemma"}) == "gemma-2"
    assert derived_name(Handle.parse("google/gemma/transformers/2b"), {"gemma-2b", "gemma-2b-2"}) == "gemma-2b-3"


def test_the_public_surface_is_what_the_package_lists() -> None:
    assert sorted(kmenv.resolve.__all__) == ["Requirement", "Resolution", "ResolveReporter", "ResolvedModel", "resolve"]
    for name in kmenv.resolve.__all__:
        assert getattr(kmenv.resolve, name) is not None
