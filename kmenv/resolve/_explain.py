"""Why no resolution exists, told as chains a person can act on, plus the edit most likely to fix it.

Pure: everything it knows comes through :class:`Facts`, which the resolver answers from what it
has already fetched. Each cause reads from the declaration down to the versions that fail, e.g.
``kmodels.yaml requires lora >=3 (acme/lora/transformers/v1) → lora 3–4 need base gemma-base >=2
(google/gemma/transformers/2b) → versions 2–4 denied: licence CC-BY-NC-4.0 not allowed by policy.licenses.allow``.
Versions are grouped by identical reasons and collapsed into ranges; the newest group comes
first and supplies the hint, because the newest versions are the ones the user most likely wants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from kmenv.errors import ResolutionImpossible
from kmenv.resolve._wording import (
    either,
    environment_fix,
    licence_fixes,
    narrowing,
    version_ranges,
    versions_phrase,
)
from kmenv.resolve.eligibility import Assessment
from kmenv.resolve.interface import Requirement, version_allowed
from kmenv.values.candidates import Candidate
from kmenv.values.handles import Handle

__all__ = ["Demand", "Facts", "explain_failure", "explain_unusable"]

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


def _said(req: Requirement) -> str:
    return f"{req} ({req.handle})"


@dataclass(frozen=True)
class _Finding:
    """One cause line. ``subject`` is the model whose versions fail at the end of the chain, ``needed_by``
    the fine-tune whose base it is there (``None`` when declared), ``conflict`` whether demands disagree.
    """

    newest: int
    line: str
    hint: str | None
    subject: str
    needed_by: str | None = None
    conflict: bool = False


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

    def parent_alternative(self, demand: Demand, fits: set[int] | None = None) -> str | None:
        """``constrain P to <3`` when other versions of the declared parent P avoid this demand and work.

        With ``fits``, an alternative must also need a base version in ``fits`` (what the other
        parties to a conflict can live with), so the edit alone resolves the conflict.
        """
        req = demand.requirement
        if req.parent is None or not demand.parent_versions:
            return None
        declared = self.declared(req.parent)
        if not declared:
            return None
        failing = set(demand.parent_versions)
        unbounded = Requirement(req.parent, declared[0].handle, "", declared[0].registry)
        good = sorted(
            {
                a.candidate.version
                for a in self.facts.options(declared[0])
                if a.candidate.version not in failing
                and self.usable(unbounded, a, with_declared=False)
                and self._avoids(self.facts.base_of(req.parent, a.candidate), req, fits)
            }
        )
        return f"constrain {req.parent} to {narrowing(good, sorted(failing))}" if good else None

    @staticmethod
    def _avoids(base: Requirement | None, failing: Requirement, fits: set[int] | None) -> bool:
        if base is None or base.name != failing.name:
            return True
        if fits is None:
            return base != failing
        return any(version_allowed(base.versions, v) for v in fits)

    def own_alternative(self, req: Requirement, options: Sequence[Assessment]) -> str | None:
        """``relax models.x.version`` when versions outside a declared range would work."""
        if req.parent is not None or not req.versions:
            return None
        unbounded = Requirement(req.name, req.handle, "", req.registry)
        good = [a.candidate.version for a in options if self.usable(unbounded, a, with_declared=False)]
        return f"relax models.{req.name}.version ({req.versions}) to admit {versions_phrase(good)}" if good else None

    # -- telling it ----------------------------------------------------------------------------------------------
    def describe(self, demand: Demand, origin: str) -> list[_Finding]:
        """Why no version of one demand can be used on its own terms."""
        req = demand.requirement
        options = self.facts.options(req)
        if not options:
            return [_Finding(0, f"{origin}{ARROW}{req.handle} has no published versions", None, req.name, req.parent)]
        in_range = [a for a in options if version_allowed(req.versions, a.candidate.version)]
        alternatives = [x for x in (self.own_alternative(req, options), self.parent_alternative(demand)) if x]
        if not in_range:
            available = version_ranges(a.candidate.version for a in options)
            line = f"{origin}{ARROW}no version satisfies {req.versions} (available: {available})"
            return [_Finding(0, line, either(alternatives) or self.range_fix(req), req.name, req.parent)]
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
            line = f"{origin}{ARROW}{prefix}{versions_phrase(a.candidate.version for a in group)} {self.body(group[0])}"
            hint = either([*self.eligibility_fixes(req, group[0]), *alternatives])
            findings.append(_Finding(max(a.candidate.version for a in group), line, hint, req.name, req.parent))
        for base, versions in blocked.items():
            verb = "needs" if len(versions) == 1 else "need"
            step = f"{origin}{ARROW}{req.name} {version_ranges(versions)} {verb} base {_said(base)}"
            below = Demand(base, tuple(sorted(versions)))
            if self.viable(base, with_declared=False):
                found = self.conflict([*(Demand(d) for d in self.declared(base.name)), below], {below: step})
            else:
                found = self.describe(below, step)
            findings.extend(replace(f, newest=max(versions)) for f in found)
        return sorted(findings, key=lambda f: -f.newest)

    def conflict(self, demands: Sequence[Demand], origins: dict[Demand, str] | None = None) -> list[_Finding]:
        """Demands on one model that each work alone but admit no common version."""
        origins = origins or {}
        name = demands[0].requirement.name
        findings: list[_Finding] = []
        allowed: dict[Demand, set[int]] = {}
        for d in demands:
            options = self.facts.options(d.requirement)
            allowed[d] = {a.candidate.version for a in options if self.usable(d.requirement, a, with_declared=False)}
            origin = origins.get(d) or self.origin(d)
            allows = f"allows {versions_phrase(allowed[d])}" if allowed[d] else "allows no usable version"
            findings.append(_Finding(0, f"{origin}{ARROW}{allows}", None, name, conflict=True))
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
                + f"{ARROW}{versions_phrase(a.candidate.version for a in blocked)} {self.body(blocked[0])}"
            )
            findings.append(_Finding(0, line, None, name, conflict=True))
        hint = either(self.conflict_fixes(demands, allowed))
        return [replace(f, hint=hint if i == 0 else None) for i, f in enumerate(findings)]

    def conflict_fixes(self, demands: Sequence[Demand], allowed: dict[Demand, set[int]]) -> list[str]:
        """Single edits that resolve a conflict: relax the declaration, move one fine-tune, or drop one."""
        declared = [d for d in demands if d.requirement.parent is None]
        parties: dict[str | None, set[int]] = {}
        for d in demands:  # a declaration narrows; a fine-tune may use any of its versions' allowances
            if d.requirement.parent is None:
                parties[None] = parties[None] & allowed[d] if None in parties else set(allowed[d])
            else:
                parties.setdefault(d.requirement.parent, set()).update(allowed[d])

        def without(party: str | None) -> set[int] | None:
            rest = [versions for p, versions in parties.items() if p != party]
            return set.intersection(*rest) if rest else None

        fixes: list[str] = []
        if declared and (rest := without(None)):
            spec = declared[0].requirement.versions or "any version"
            fixes.append(
                f"relax models.{declared[0].requirement.name}.version ({spec}) to admit {versions_phrase(rest)}"
            )
        drops = []
        for parent in sorted(p for p in parties if p is not None):
            rest = without(parent)
            if rest is None or not rest:
                continue
            drops.append(parent)
            theirs = [d for d in demands if d.requirement.parent == parent]
            tried = Demand(theirs[0].requirement, tuple(sorted({v for d in theirs for v in d.parent_versions})))
            if (alternative := self.parent_alternative(tried, fits=rest)) is not None:
                fixes.append(alternative)
        if not fixes and drops:
            fixes.append(f"drop {either(drops)} from kmodels.yaml")
        if not fixes:
            parents = ", ".join(sorted(p for p in parties if p is not None))
            fixes.append(f"keep only those of {parents} that can share one version of {demands[0].requirement.name}")
        return fixes

    def section(self, demands: Sequence[Demand]) -> list[_Finding]:
        """All findings for one model: each demand that fails on its own, else their conflict."""
        stuck = [d for d in demands if not self.viable(d.requirement, with_declared=False)]
        if not stuck:
            return self.conflict(demands)
        return [f for d in stuck for f in self.describe(d, self.origin(d))]

    @staticmethod
    def body(assessment: Assessment) -> str:
        reasons = assessment.reasons()
        if not assessment.misses:
            return f"denied: {'; '.join(reasons)}"
        return f"excluded: {'; '.join(reasons)}"

    def eligibility_fixes(self, req: Requirement, assessment: Assessment) -> list[str]:
        environment = [environment_fix(m) for m in assessment.misses]
        if assessment.verdict.allowed:
            return [" and ".join(environment)] if environment else []
        licence = licence_fixes(assessment, self.who(req, assessment.candidate))
        if environment:
            return [" and ".join([*environment, licence[0]])]
        return licence

    def range_fix(self, req: Requirement) -> str | None:
        """The edit for a range no published version meets: the declared range, or dropping the fine-tune."""
        if req.parent is None:
            return f"relax models.{req.name}.version ({req.versions})"
        if self.declared(req.parent):
            return f"remove {req.parent}: no published {req.handle} version is in the range it needs ({req.versions})"
        return None


def explain_failure(failing: Sequence[Demand], declared: Sequence[Demand], facts: Facts) -> ResolutionImpossible:
    """Turn the search's dead end into one error listing every cause, with the most useful hint.

    ``failing`` are the demands the search could not meet (from resolvelib's causes);
    ``declared`` are all declared requirements, so that a declared model no version of which
    is usable is reported in the same pass even if the search stopped elsewhere first.
    """
    return _error(_findings(failing, declared, facts))


def explain_unusable(declared: Sequence[Demand], facts: Facts) -> ResolutionImpossible | None:
    """The error for declared models that cannot work whatever else is chosen, or ``None`` if each could.

    Cheap next to a search, and it names the culprit when a search would only run out of rounds.
    """
    findings = _findings((), declared, facts)
    return _error(findings) if findings else None


def _findings(failing: Sequence[Demand], declared: Sequence[Demand], facts: Facts) -> list[_Finding]:
    explainer = _Explainer(facts)
    by_name: dict[str, dict[Requirement, set[int]]] = {}
    for demand in failing:
        by_name.setdefault(demand.requirement.name, {}).setdefault(demand.requirement, set()).update(
            demand.parent_versions
        )
    for name, demands in by_name.items():
        for met in facts.demands_on(name):  # every parent version the search tried, not just the last ones
            if met.requirement in demands or met.requirement.parent is None:
                demands.setdefault(met.requirement, set()).update(met.parent_versions)
    groups = {
        name: explainer.section(sorted((Demand(r, tuple(sorted(v))) for r, v in demands.items()), key=Demand.order))
        for name, demands in by_name.items()
    }
    told = {f.line for findings in groups.values() for f in findings}
    for demand in declared:
        req = demand.requirement
        if req.name in by_name or any(explainer.usable(req, a, with_declared=True) for a in facts.options(req)):
            continue
        found = explainer.describe(demand, explainer.origin(demand))
        if not told.issuperset(f.line for f in found):  # not just the same chain seen from above
            groups[req.name] = found
            told.update(f.line for f in found)
    return [f for name in sorted(groups) for f in groups[name]]


def _error(findings: Sequence[_Finding]) -> ResolutionImpossible:
    causes = list(dict.fromkeys(f.line for f in findings))
    hint = next((f.hint for f in findings if f.hint), None)
    subjects = list(dict.fromkeys(f.subject for f in findings))
    if len(subjects) == 1 and all(f.conflict for f in findings):
        message = f"the requirements on {subjects[0]} conflict"
    elif len(subjects) == 1:
        needed_by = {f.needed_by for f in findings if not f.conflict}
        parents = "" if None in needed_by else f" for {', '.join(sorted(p for p in needed_by if p))}"
        message = f"no usable version of {subjects[0]}{parents}"
    else:
        message = f"no usable version of {', '.join(subjects) or 'the declared models'}"
    return ResolutionImpossible(f"cannot resolve kmodels.yaml: {message}", causes=causes, hint=hint)
