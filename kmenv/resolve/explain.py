"""Why no resolution exists, told as chains a person can act on, plus the edit most likely to fix it.

Pure: everything it knows comes through :class:`Facts`, which the resolver answers from what it
has already fetched. Each cause reads from the declaration down to the versions that fail, e.g.
``kmodels.yaml requires lora >=3 (acme/lora/transformers/v1) → lora 3–4 need base gemma-base >=2
(google/gemma/transformers/2b) → versions 2–4 denied: licence CC-BY-NC-4.0 not allowed by policy.licenses.allow``.
Versions are grouped by identical reasons and collapsed into ranges; the newest group comes
first and supplies the hint, because the newest versions are the ones the user most likely wants.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kmenv.candidates import Candidate
from kmenv.errors import ResolutionImpossible
from kmenv.handles import Handle
from kmenv.resolve.eligibility import Assessment, EnvironmentMiss
from kmenv.resolve.model import Requirement, version_allowed

__all__ = [
    "Demand",
    "Facts",
    "ambiguous_variation",
    "explain_failure",
    "too_deep",
    "undeclared_base_registry",
    "version_ranges",
]

ARROW = " → "
DECLARED = "kmodels.yaml requires"


@dataclass(frozen=True)
class Demand:
    """A requirement as the search met it, with the versions of its parent that made it (none for a declared one)."""

    requirement: Requirement
    parent_versions: tuple[int, ...] = ()

    def order(self) -> tuple[bool, str, tuple[int, ...], str]:
        """Declared demands first, then by parent and its versions: a stable order for reports."""
        req = self.requirement
        return (req.parent is not None, req.parent or "", self.parent_versions, str(req))


class Facts(Protocol):
    """What the explanation may ask the resolver; answers come from registry data already fetched."""

    def options(self, requirement: Requirement) -> Sequence[Assessment]:
        """Every version of every instance the requirement's handle admits, its version range not applied."""
        ...

    def base_of(self, name: str, candidate: Candidate) -> Requirement | None:
        """The requirement on its base model that ``candidate``, used as ``name``, brings in."""
        ...

    def demands_on(self, name: str) -> Sequence[Demand]:
        """Every demand the search met on the model ``name``; declared ones first."""
        ...


def version_ranges(versions: Iterable[int]) -> str:
    """``[1, 3, 4, 5]`` → ``"1, 3–5"``."""
    ordered = sorted(set(versions))
    spans: list[str] = []
    start = prev = None
    for v in [*ordered, None]:
        if start is not None and prev is not None and (v is None or v != prev + 1):
            spans.append(str(start) if start == prev else f"{start}–{prev}")
            start = None
        if v is not None and start is None:
            start = v
        prev = v
    return ", ".join(spans)


def _versions_phrase(versions: Iterable[int]) -> str:
    distinct = set(versions)
    return f"{'version' if len(distinct) == 1 else 'versions'} {version_ranges(distinct)}"


def _either(options: Sequence[str]) -> str | None:
    """``["a", "b", "c"]`` → ``"a, b, or c"``."""
    if not options:
        return None
    if len(options) == 1:
        return options[0]
    if len(options) == 2:
        return f"{options[0]} or {options[1]}"
    return f"{', '.join(options[:-1])}, or {options[-1]}"


def _said(req: Requirement) -> str:
    return f"{req} ({req.handle})"


def _narrowing(good: Sequence[int], bad: Sequence[int]) -> str:
    """A specifier that admits the ``good`` versions and none of the ``bad`` ones, preferring a simple bound."""
    if bad and max(good) < min(bad):
        return f"<{min(bad)}"
    if bad and min(good) > max(bad):
        return f">{max(bad)}"
    return f"=={max(good)}"


def _environment_fix(miss: EnvironmentMiss) -> str:
    if miss.library == "python":
        return f"set environment.python to a version matching {miss.wanted}"
    if miss.wanted:
        return f"set environment.packages.{miss.library} to {miss.wanted}"
    return f"add {miss.library} to environment.packages"


def _licence_fixes(assessment: Assessment, who: str) -> list[str]:
    """The policy edits that would admit this version: allow the id or its category, or an exception."""
    verdict = assessment.verdict
    leaf = next((leaf for leaf in verdict.leaves if not leaf.allowed), None)
    licence = leaf.licence if leaf is not None else verdict.spdx or assessment.candidate.license or "its licence"
    category = leaf.category if leaf is not None else "unknown"
    rule = leaf.rule if leaf is not None else verdict.rule
    exception = f"add an exception for {who} (allow: [{licence}] with a reason)"
    if rule == "policy.licenses.unknown":
        return [
            f"add an alias in policy.licenses.aliases or a policy.licenses.clarify entry for {who}",
            "set policy.licenses.unknown to warn",
        ]
    if rule == "policy.licenses.deny":
        return [f"remove {licence} from policy.licenses.deny", exception]
    if rule == "policy.licenses.deny-categories":
        return [f"remove {category} from policy.licenses.deny-categories", exception]
    if rule == "policy.licenses.allow":
        return [
            f"allow {licence} in policy.licenses.allow",
            f"allow {category} in policy.licenses.allow-categories",
            exception,
        ]
    return [f"change {verdict.rule}"]


@dataclass(frozen=True)
class _Finding:
    newest: int
    line: str
    hint: str | None


class _Explainer:
    """Walks the failing demands; memoises viability because chains share their upper parts."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._viable: dict[tuple[Requirement, bool], bool] = {}

    # -- what can work -------------------------------------------------------------------------------------------
    def declared(self, name: str) -> list[Requirement]:
        return [d.requirement for d in self.facts.demands_on(name) if d.requirement.parent is None]

    def usable(self, req: Requirement, assessment: Assessment, *, with_declared: bool) -> bool:
        """Eligible, admitted by ``req`` (and by the declarations on the same model), and its base can be met."""
        if not assessment.eligible or not req.admits(assessment.candidate):
            return False
        if with_declared and not all(d.admits(assessment.candidate) for d in self.declared(req.name)):
            return False
        base = self.facts.base_of(req.name, assessment.candidate)
        return base is None or self.viable(base, with_declared=True)

    def viable(self, req: Requirement, *, with_declared: bool) -> bool:
        key = (req, with_declared)
        if key not in self._viable:
            self._viable[key] = False  # a base cycle counts as not viable while it is being explored
            self._viable[key] = any(self.usable(req, a, with_declared=with_declared) for a in self.facts.options(req))
        return self._viable[key]

    def who(self, req: Requirement, candidate: Candidate) -> str:
        """How a policy exception names this model: by project name if declared, else by its instance handle."""
        return req.name if self.declared(req.name) else str(candidate.handle.unversioned())

    # -- where a demand comes from -------------------------------------------------------------------------------
    def origin(self, demand: Demand, seen: frozenset[str] = frozenset()) -> str:
        req = demand.requirement
        if req.parent is None:
            return f"{DECLARED} {_said(req)}"
        verb = "needs" if len(demand.parent_versions) == 1 else "need"
        versions = f" {version_ranges(demand.parent_versions)}" if demand.parent_versions else ""
        step = f"{req.parent}{versions} {verb} base {_said(req)}"
        upstream = self.facts.demands_on(req.parent)
        if not upstream or req.parent in seen:
            return step
        return f"{self.origin(upstream[0], seen | {req.name})}{ARROW}{step}"

    def parent_alternative(self, demand: Demand) -> str | None:
        """``constrain P to <3`` when other versions of the declared parent P avoid this demand and work."""
        req = demand.requirement
        if req.parent is None or not demand.parent_versions:
            return None
        declared = self.declared(req.parent)
        if not declared:
            return None
        failing = set(demand.parent_versions)
        good = sorted(
            {
                a.candidate.version
                for a in self.facts.options(declared[0])
                if a.candidate.version not in failing
                and declared[0].handle.admits(a.candidate.handle)
                and self.facts.base_of(req.parent, a.candidate) != req
                and self.usable(
                    Requirement(req.parent, declared[0].handle, "", declared[0].registry), a, with_declared=False
                )
            }
        )
        return f"constrain {req.parent} to {_narrowing(good, sorted(failing))}" if good else None

    def own_alternative(self, req: Requirement, options: Sequence[Assessment]) -> str | None:
        """``relax models.x.version`` when versions outside a declared range would work."""
        if req.parent is not None or not req.versions:
            return None
        unbounded = Requirement(req.name, req.handle, "", req.registry)
        good = [a.candidate.version for a in options if self.usable(unbounded, a, with_declared=False)]
        return f"relax models.{req.name}.version ({req.versions}) to admit {_versions_phrase(good)}" if good else None

    # -- telling it ----------------------------------------------------------------------------------------------
    def describe(self, demand: Demand, origin: str) -> list[_Finding]:
        """Why no version of one demand can be used on its own terms."""
        req = demand.requirement
        options = self.facts.options(req)
        if not options:
            return [_Finding(0, f"{origin}{ARROW}{req.handle} has no published versions", None)]
        in_range = [a for a in options if version_allowed(req.versions, a.candidate.version)]
        alternatives = [x for x in (self.own_alternative(req, options), self.parent_alternative(demand)) if x]
        if not in_range:
            available = version_ranges(a.candidate.version for a in options)
            return [
                _Finding(
                    0,
                    f"{origin}{ARROW}no version satisfies {req.versions} (available: {available})",
                    _either(alternatives) or f"relax {self.range_key(req)} ({req.versions})",
                )
            ]
        several = len({a.candidate.handle.unversioned() for a in in_range}) > 1
        findings: list[_Finding] = []
        ineligible: dict[tuple[Handle | None, tuple[str, ...]], list[Assessment]] = {}
        blocked: dict[Requirement, list[int]] = {}
        for a in in_range:
            if not a.eligible:
                where = a.candidate.handle.unversioned() if several else None
                ineligible.setdefault((where, a.reasons()), []).append(a)
                continue
            base = self.facts.base_of(req.name, a.candidate)
            if base is not None and not self.viable(base, with_declared=True):
                blocked.setdefault(base, []).append(a.candidate.version)
        for (where, _reasons), group in ineligible.items():
            prefix = f"{where} " if where is not None else ""
            line = (
                f"{origin}{ARROW}{prefix}{_versions_phrase(a.candidate.version for a in group)} {self.body(group[0])}"
            )
            hint = _either([*self.eligibility_fixes(req, group[0]), *alternatives])
            findings.append(_Finding(max(a.candidate.version for a in group), line, hint))
        for base, versions in blocked.items():
            verb = "needs" if len(versions) == 1 else "need"
            step = f"{origin}{ARROW}{req.name} {version_ranges(versions)} {verb} base {_said(base)}"
            below = Demand(base, tuple(sorted(versions)))
            if self.viable(base, with_declared=False):
                found = self.conflict([*(Demand(d) for d in self.declared(base.name)), below], {below: step})
            else:
                found = self.describe(below, step)
            findings.extend(_Finding(max(versions), f.line, f.hint) for f in found)
        return sorted(findings, key=lambda f: -f.newest)

    def conflict(self, demands: Sequence[Demand], origins: dict[Demand, str] | None = None) -> list[_Finding]:
        """Demands on one model that each work alone but admit no common version."""
        origins = origins or {}
        findings: list[_Finding] = []
        for d in demands:
            options = self.facts.options(d.requirement)
            allowed = [a.candidate.version for a in options if self.usable(d.requirement, a, with_declared=False)]
            origin = origins.get(d) or self.origin(d)
            allows = f"allows {_versions_phrase(allowed)}" if allowed else "allows no usable version"
            findings.append(_Finding(0, f"{origin}{ARROW}{allows}", None))
        name = demands[0].requirement.name
        common = [
            a
            for a in self.facts.options(demands[0].requirement)
            if all(d.requirement.admits(a.candidate) for d in demands)
        ]
        blocked = [a for a in common if not a.eligible]
        if blocked:
            ranges = " and ".join(sorted({d.requirement.versions for d in demands if d.requirement.versions}))
            line = (
                f"{name} {ranges}".rstrip()
                + f"{ARROW}{_versions_phrase(a.candidate.version for a in blocked)} {self.body(blocked[0])}"
            )
            findings.append(_Finding(0, line, None))
        fixes: list[str] = []
        for d in demands:
            if d.requirement.parent is None:
                fixes.append(f"relax {self.range_key(d.requirement)} ({d.requirement.versions or 'any version'})")
            elif (alternative := self.parent_alternative(d)) is not None:
                fixes.append(alternative)
        parents = sorted({d.requirement.parent for d in demands if d.requirement.parent is not None})
        if not fixes and len(parents) > 1:
            fixes.append(f"drop one of {', '.join(parents)}")
        hint = _either(fixes)
        return [_Finding(f.newest, f.line, hint if i == 0 else None) for i, f in enumerate(findings)]

    def section(self, name: str, demands: Sequence[Demand]) -> tuple[str, str, list[_Finding]]:
        """All findings for one model: each demand that fails on its own, else their conflict."""
        stuck = [d for d in demands if not self.viable(d.requirement, with_declared=False)]
        if not stuck:
            return (name, "conflict", self.conflict(demands))
        return (name, "excluded", [f for d in stuck for f in self.describe(d, self.origin(d))])

    @staticmethod
    def body(assessment: Assessment) -> str:
        reasons = assessment.reasons()
        if not assessment.misses:
            return f"denied: {'; '.join(reasons)}"
        return f"excluded: {'; '.join(reasons)}"

    def eligibility_fixes(self, req: Requirement, assessment: Assessment) -> list[str]:
        environment = [_environment_fix(m) for m in assessment.misses]
        if assessment.verdict.allowed:
            return [" and ".join(environment)] if environment else []
        licence = _licence_fixes(assessment, self.who(req, assessment.candidate))
        if environment:
            return [" and ".join([*environment, licence[0]])]
        return licence

    @staticmethod
    def range_key(req: Requirement) -> str:
        return f"models.{req.name}.version" if req.parent is None else f"the range {req.parent} needs"


def explain_failure(failing: Sequence[Demand], declared: Sequence[Demand], facts: Facts) -> ResolutionImpossible:
    """Turn the search's dead end into one error listing every cause, with the most useful hint.

    ``failing`` are the demands the search could not meet (from resolvelib's causes);
    ``declared`` are all declared requirements, so that a declared model no version of which
    is usable is reported in the same pass even if the search stopped elsewhere first.
    """
    explainer = _Explainer(facts)
    by_name: dict[str, dict[Requirement, set[int]]] = {}
    for demand in failing:
        by_name.setdefault(demand.requirement.name, {}).setdefault(demand.requirement, set()).update(
            demand.parent_versions
        )
    for demand in declared:
        if demand.requirement.name in by_name:
            by_name[demand.requirement.name].setdefault(demand.requirement, set())
    sections = [
        explainer.section(name, sorted((Demand(r, tuple(sorted(v))) for r, v in demands.items()), key=Demand.order))
        for name, demands in by_name.items()
    ]
    told = {f.line for _, _, findings in sections for f in findings}
    for demand in declared:
        req = demand.requirement
        if req.name in by_name or any(explainer.usable(req, a, with_declared=True) for a in facts.options(req)):
            continue
        findings = explainer.describe(demand, explainer.origin(demand))
        if not told.issuperset(f.line for f in findings):  # not just the same chain seen from above
            sections.append((req.name, "excluded", findings))
            told.update(f.line for f in findings)
    sections.sort(key=lambda s: s[0])
    every = [f for _, _, findings in sections for f in findings]
    causes = list(dict.fromkeys(f.line for f in every))
    hint = next((f.hint for f in every if f.hint), None)
    names = [name for name, _, _ in sections]
    if len(sections) == 1 and sections[0][1] == "conflict":
        message = f"the requirements on {names[0]} conflict"
    else:
        message = f"no usable version of {', '.join(names) or 'the declared models'}"
    return ResolutionImpossible(f"cannot resolve kmodels.yaml: {message}", causes=causes, hint=hint)


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
        f"{req.parent} needs base {req.handle}, which matches {len(variations)} variations in registry "
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
    causes = [f"{name}: {count} versions tried and given up" for name, count in rejections[:5]]
    pin = f"pin {rejections[0][0]}" if rejections else "pin the models that keep changing"
    return ResolutionImpossible(
        f"cannot resolve kmodels.yaml: gave up after {max_rounds} rounds without settling on versions",
        causes=causes,
        hint=f"{pin} to one version (models.<name>.version: ==N) to narrow the search, or raise the round limit",
    )
