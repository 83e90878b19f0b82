"""Independent groups: declared models whose base trees never meet are searched apart, with the same answer.

resolvelib re-checks every pin against every requirement each round, so one search over n models does n²
checks. Searching the look-ahead's independent trees apart keeps lock time linear; these tests pin down that
the answer is the joint search's, that trees which might meet fall back to one search, and that the work
grows linearly.
"""

from __future__ import annotations

import pytest

from kmenv.policy import RulePolicy
from kmenv.registry.memory import MemoryRegistry
from kmenv.resolve import Requirement, Resolution, _provider, resolve
from kmenv.values.candidates import BaseModelRef, Candidate
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

ENV = TargetEnvironment.from_strings("3.11", {})
POLICY = RulePolicy(allow=("MIT",))


def _base(handle: str, versions: int = 6, *, mit_until: int | None = None) -> list[Candidate]:
    """A base model; from ``mit_until`` on its licence changes, so newer versions are not eligible."""
    out = []
    for v in range(1, versions + 1):
        licence = "MIT" if mit_until is None or v < mit_until else "Proprietary"
        out.append(Candidate(Handle.parse(handle).with_version(v), "mem", licence))
    return out


def _tune(handle: str, base: str, spec_for: dict[int, str]) -> list[Candidate]:
    """A fine-tune whose version v needs ``base`` in ``spec_for[v]``."""
    return [
        Candidate(Handle.parse(handle).with_version(v), "mem", "MIT", base=BaseModelRef(Handle.parse(base), spec))
        for v, spec in spec_for.items()
    ]


def _tree(i: int) -> tuple[list[Candidate], list[Requirement]]:
    """One base, two fine-tunes that disagree on its newest versions, so older choices are needed."""
    base, a, b = f"org/base{i}/pyTorch/v", f"org/tune{i}a/pyTorch/v", f"org/tune{i}b/pyTorch/v"
    candidates = _base(base, mit_until=6)
    candidates += _tune(a, base, {1: ">=1", 2: ">=3", 3: ">=4,<5"})
    candidates += _tune(b, base, {1: ">=2", 2: "<4"})
    requirements = [
        Requirement(f"tune{i}a", Handle.parse(a), "", "mem"),
        Requirement(f"tune{i}b", Handle.parse(b), "", "mem"),
    ]
    return candidates, requirements


def _project(trees: int) -> tuple[MemoryRegistry, list[Requirement]]:
    candidates: list[Candidate] = []
    requirements: list[Requirement] = []
    for i in range(trees):
        found, wanted = _tree(i)
        candidates += found
        requirements += wanted
    return MemoryRegistry("mem", candidates), requirements


def _joint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the resolver search everything at once, as it did before groups."""
    monkeypatch.setattr(_provider.ModelProvider, "independent_groups", lambda self: [])


def _versions(resolution: Resolution) -> dict[str, int]:
    return {m.name: m.candidate.version for m in resolution.models}


def test_groups_give_the_joint_searchs_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    registry, requirements = _project(5)
    apart = resolve(requirements, {"mem": registry}, ENV, POLICY)
    with monkeypatch.context() as patch:
        _joint(patch)
        together = resolve(requirements, {"mem": _project(5)[0]}, ENV, POLICY)
    assert apart == together
    # the newest tune0a needs base 4, which only tune0b's older version accepts
    assert {k: v for k, v in _versions(apart).items() if k.endswith(("0a", "0b", "0-v"))} == {
        "base0-v": 4,
        "tune0a": 3,
        "tune0b": 1,
    }


def test_each_tree_is_its_own_group() -> None:
    registry, requirements = _project(3)
    seen: list[list[str]] = []
    original = _provider.ModelProvider.independent_groups

    def spy(self: _provider.ModelProvider) -> list[list[Requirement]]:
        groups = original(self)
        seen.extend([r.name for r in g] for g in groups)
        return groups

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_provider.ModelProvider, "independent_groups", spy)
        resolve(requirements, {"mem": registry}, ENV, POLICY)
    assert seen == [["tune0a", "tune0b"], ["tune1a", "tune1b"], ["tune2a", "tune2b"]]


def test_a_model_whose_base_is_not_sure_is_searched_with_everything_it_might_touch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``mixed`` v2 needs base0, v1 needs nothing: its base is not sure, so it is searched in the open group.

    Searched alone it pins base0 at 5 while base0's own tree plans 4: the groups met, so one joint search decides.
    """
    candidates, requirements = _tree(0)
    candidates += [
        Candidate(Handle.parse("org/mixed/pyTorch/v/1"), "mem", "MIT"),
        Candidate(
            Handle.parse("org/mixed/pyTorch/v/2"),
            "mem",
            "MIT",
            base=BaseModelRef(Handle.parse("org/base0/pyTorch/v"), ">=5"),
        ),
    ]
    requirements.append(Requirement("mixed", Handle.parse("org/mixed/pyTorch/v"), "", "mem"))
    apart = resolve(requirements, {"mem": MemoryRegistry("mem", candidates)}, ENV, POLICY)
    _joint(monkeypatch)
    together = resolve(requirements, {"mem": MemoryRegistry("mem", candidates)}, ENV, POLICY)
    assert apart == together
    assert _versions(apart) == {"base0-v": 5, "mixed": 2, "tune0a": 2, "tune0b": 1}


def _checks(trees: int) -> int:
    """How many requirement-against-pin checks one resolve makes."""
    counted = 0
    original = _provider.ModelProvider.is_satisfied_by

    def counting(self: _provider.ModelProvider, requirement: Requirement, candidate: _provider.Choice) -> bool:
        nonlocal counted
        counted += 1
        return original(self, requirement, candidate)

    registry, requirements = _project(trees)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_provider.ModelProvider, "is_satisfied_by", counting)
        resolve(requirements, {"mem": registry}, ENV, POLICY)
    return counted


def test_the_search_work_grows_linearly_with_the_models() -> None:
    small, large = _checks(20), _checks(80)
    assert large <= 5 * small  # 4x the models: a joint search would do ~16x the checks
