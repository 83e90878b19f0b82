"""How the resolver words things: version ranges, suggested edits, and the errors that need no analysis."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kmenv.errors import ResolutionImpossible
from kmenv.resolve.eligibility import Assessment, EnvironmentMiss
from kmenv.resolve.interface import Requirement
from kmenv.values.candidates import Candidate
from kmenv.values.wording import counted

__all__ = [
    "ambiguous_variation",
    "either",
    "environment_fix",
    "licence_fixes",
    "narrowing",
    "too_deep",
    "undeclared_base_registry",
    "version_ranges",
    "versions_phrase",
]


def version_ranges(versions: Iterable[int]) -> str:
    """``[1, 3, 4, 5]`` → ``"1, 3–5"``."""
    spans: list[list[int]] = []
    for v in sorted(set(versions)):
        if spans and v == spans[-1][1] + 1:
            spans[-1][1] = v
        else:
            spans.append([v, v])
    return ", ".join(str(low) if low == high else f"{low}–{high}" for low, high in spans)


def versions_phrase(versions: Iterable[int]) -> str:
    distinct = set(versions)
    return f"{'version' if len(distinct) == 1 else 'versions'} {version_ranges(distinct)}"


def either(options: Sequence[str]) -> str | None:
    """``["a", "b", "c"]`` → ``"a, b, or c"``."""
    if not options:
        return None
    if len(options) == 1:
        return options[0]
    if len(options) == 2:
        return f"{options[0]} or {options[1]}"
    return f"{', '.join(options[:-1])}, or {options[-1]}"


def narrowing(good: Sequence[int], bad: Sequence[int]) -> str:
    """A specifier that admits the ``good`` versions and none of the ``bad`` ones, preferring a simple bound."""
    if bad and max(good) < min(bad):
        return f"<{min(bad)}"
    if bad and min(good) > max(bad):
        return f">{max(bad)}"
    return f"=={max(good)}"


def environment_fix(miss: EnvironmentMiss) -> str:
    if miss.library == "python":
        return f"set environment.python to a version matching {miss.wanted}"
    if miss.wanted:
        return f"set environment.packages.{miss.library} to {miss.wanted}"
    return f"add {miss.library} to environment.packages"


def licence_fixes(assessment: Assessment, who: str) -> list[str]:
    """The policy edits that would admit this version: allow the id or its category, or an exception."""
    from kmenv.policy.hints import licence_fixes as fixes_for

    verdict = assessment.verdict
    leaf = next((leaf for leaf in verdict.leaves if not leaf.allowed), None)
    if leaf is not None:
        return fixes_for(leaf, who)
    # A policy without per-licence leaves (a plain implementation of the protocol): name the setting.
    return [f"change {verdict.rule}", f"add an exception for {who} with a reason"]


def ambiguous_variation(req: Requirement, registry: str, variations: Sequence[str]) -> ResolutionImpossible:
    """A partial handle that could mean several different models (variations), not just several frameworks."""
    listed = ", ".join(variations)
    stem = f"{req.handle.owner}/{req.handle.model}"
    if req.parent is None:
        return ResolutionImpossible(
            f"models.{req.name}: {req.handle} matches {len(variations)} variations in registry {registry!r}: {listed}",
            hint=f"write {stem}/<variation>, one of: {listed}",
        )
    return ResolutionImpossible(
        f"{req.parent} needs base {req.handle}, which matches {counted(len(variations), 'variation')} in registry "
        f"{registry!r}: {listed}",
        hint=f"declare the base in kmodels.yaml as {stem}/<variation>, one of: {listed}",
    )


def undeclared_base_registry(parent: str, candidate: Candidate, registry: str) -> ResolutionImpossible:
    return ResolutionImpossible(
        f"{parent} {candidate.version} needs base {candidate.base} from registry {registry!r}, "
        "which kmodels.yaml does not declare",
        hint=f"declare a registry named {registry!r} under registries",
    )


def too_deep(max_rounds: int, rejections: Sequence[tuple[str, int]]) -> ResolutionImpossible:
    """The search hit its round limit; name the models it kept changing its mind about."""
    causes = [f"{name}: {counted(count, 'version')} tried and given up" for name, count in rejections[:5]]
    pin = f"pin {rejections[0][0]}" if rejections else "pin the models that keep changing"
    rounds = counted(max_rounds, "round")
    return ResolutionImpossible(
        f"cannot resolve kmodels.yaml: gave up after {rounds} without settling on versions",
        causes=causes,
        hint=f"{pin} to one version (models.<name>.version: ==N) to narrow the search, or raise the round limit",
    )
