"""The resolver against the cases in tests/data/resolve/cases/: chosen versions, explanations, laziness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from resolve_cases import Case, all_cases, load

from kmenv.errors import ResolutionImpossible
from kmenv.resolve import Resolution, resolve


def _run(case: Case) -> Resolution:
    return resolve(case.requirements, case.registries, case.environment, case.policy, preferred=case.preferred)


def _summary(resolution: Resolution, expect: dict[str, Any]) -> dict[str, Any]:
    """The resolution in the shape of ``expect``: only the keys the case cares about."""
    found: dict[str, Any] = {}
    for model in resolution.models:
        wanted = expect.get(model.name)
        if not isinstance(wanted, dict):
            found[model.name] = model.candidate.version
            continue
        facts = {
            "version": model.candidate.version,
            "handle": str(model.candidate.handle),
            "direct": model.direct,
            "base": model.base,
            "required_by": list(model.required_by),
        }
        found[model.name] = {key: facts[key] for key in wanted}
    return found


@pytest.mark.parametrize("path", all_cases(), ids=lambda p: p.stem)
def test_case(path: Path) -> None:
    case = load(path)
    if case.error is not None:
        with pytest.raises(ResolutionImpossible) as caught:
            _run(case)
        error = caught.value
        assert error.exit_code == 3
        assert {"message": error.message, "causes": error.causes, "hint": error.hint} == case.error
    else:
        assert case.expect is not None, f"{path.name} needs 'expect' or 'error'"
        resolution = _run(case)
        assert _summary(resolution, case.expect) == case.expect
        assert list(resolution.warnings) == case.warnings
    for registry in case.registries.values():
        assert not set(case.never_fetched) & registry.fetched()
        twice = [arg for (method, arg), n in registry.calls.items() if method == "versions" and n > 1]
        assert twice == [], "each instance's versions are fetched at most once per resolve"
