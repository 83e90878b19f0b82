"""``resolve()``: run resolvelib over the provider and turn its answer (or its dead end) into kmenv values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import resolvelib

from kmenv.errors import ResolutionImpossible, UsageError
from kmenv.policy import LicencePolicy
from kmenv.resolve._catalog import Catalog
from kmenv.resolve._collector import full_collections_held
from kmenv.resolve._explain import Demand, explain_failure, explain_unusable
from kmenv.resolve._provider import Choice, Identity, ModelProvider, SearchExhausted
from kmenv.resolve._wording import too_deep
from kmenv.resolve.interface import (
    ModelIndex,
    Requirement,
    Resolution,
    ResolvedModel,
    ResolveReporter,
    specifier_error,
)
from kmenv.values.target import TargetEnvironment

if TYPE_CHECKING:
    from resolvelib.resolvers import Criterion

__all__ = ["resolve"]

#: Bookkeeping steps (incompatibilities scanned) allowed per round of ``max_rounds``; far above what a
#: sane search needs, low enough that a pathological one stops in seconds.
_WORK_PER_ROUND = 100


if TYPE_CHECKING:
    _Reporter = resolvelib.BaseReporter[Requirement, Choice, Identity]
else:  # resolvelib < 1.1 ships its generics only in stubs; at run time the class is not subscriptable
    _Reporter = resolvelib.BaseReporter


class _Progress(_Reporter):
    """Forwards resolvelib's events to the caller's hooks and counts rejections for the give-up message."""

    def __init__(self, reporter: ResolveReporter | None) -> None:
        self._reporter = reporter
        self.rejections: Counter[str] = Counter()
        self.rounds = 0

    def starting_round(self, index: int) -> None:
        self.rounds += 1

    def pinning(self, candidate: Choice) -> None:
        if self._reporter is not None:
            self._reporter.pinned(candidate.name, candidate.candidate.version)

    def rejecting_candidate(self, criterion: Criterion[Requirement, Choice], candidate: Choice) -> None:
        self.rejections[candidate.name] += 1
        if self._reporter is not None:
            self._reporter.rejected(candidate.name, candidate.candidate.version)


def _declared(requirements: Sequence[Requirement], registries: Mapping[str, ModelIndex]) -> list[Requirement]:
    """Check the declared requirements once, fold a versioned handle into the range, and sort for determinism."""
    checked: set[Requirement] = set()
    for req in requirements:
        if req.registry not in registries:
            raise UsageError(
                f"models.{req.name}.registry: {req.registry!r} is not a declared registry",
                hint=f"declare it under registries, or use one of: {', '.join(sorted(registries)) or 'none declared'}",
            )
        problem = specifier_error(req.versions)
        if problem is not None:
            raise UsageError(
                f"models.{req.name}.version: {problem}",
                hint="write a PEP 440 range over whole versions, e.g. >=2,<4 or ==3",
            )
        if req.handle.version is not None:
            pin = f"=={req.handle.version}"
            req = Requirement(
                req.name,
                req.handle.unversioned(),
                f"{req.versions},{pin}" if req.versions else pin,
                req.registry,
                req.parent,
            )
        checked.add(Requirement(req.name, req.handle, req.versions, req.registry))
    return sorted(checked, key=lambda r: (r.name, r.registry, str(r.handle), r.versions))


def resolve(
    requirements: Sequence[Requirement],
    registries: Mapping[str, ModelIndex],
    environment: TargetEnvironment,
    policy: LicencePolicy,
    *,
    preferred: Mapping[str, int] | None = None,
    max_rounds: int = 10_000,
    reporter: ResolveReporter | None = None,
) -> Resolution:
    """Choose one version for every declared model and every base model they need.

    Newest eligible version wins, except that a ``preferred`` version (from the existing lock) is
    kept while it is eligible and fits. Registries are asked lazily, each answer at most once.
    Raises :class:`kmenv.errors.ResolutionImpossible` with every cause when no choice works or
    the search exceeds ``max_rounds``; registry errors propagate unchanged. Full garbage collections wait
    until it returns (see :mod:`kmenv.resolve._collector`).
    """
    with full_collections_held():
        return _resolve(requirements, registries, environment, policy, preferred or {}, max_rounds, reporter)


def _resolve(
    requirements: Sequence[Requirement],
    registries: Mapping[str, ModelIndex],
    environment: TargetEnvironment,
    policy: LicencePolicy,
    preferred: Mapping[str, int],
    max_rounds: int,
    reporter: ResolveReporter | None,
) -> Resolution:
    roots = _declared(requirements, registries)
    catalog = Catalog(registries, environment, policy, reporter)
    provider = ModelProvider(roots, catalog, preferred, work_limit=max_rounds * _WORK_PER_ROUND)
    progress = _Progress(reporter)
    declared = [Demand(r) for r in roots]
    if provider.doomed() and (proven := _proven_impossible(provider, declared)) is not None:
        raise proven
    try:
        mapping = _search(provider, progress, roots, max_rounds)
    except (resolvelib.ResolutionTooDeep, SearchExhausted):
        raise explain_unusable(declared, provider) or too_deep(max_rounds, progress.rejections.most_common()) from None
    except resolvelib.ResolutionImpossible as exc:
        failing = [Demand(c.requirement, () if c.parent is None else (c.parent.candidate.version,)) for c in exc.causes]
        raise explain_failure(failing, declared, provider) from None
    return _resolution(provider, catalog, mapping)


def _search(
    provider: ModelProvider, progress: _Progress, roots: list[Requirement], max_rounds: int
) -> dict[Identity, Choice]:
    """Search each independent group apart, and all together if the groups met after all.

    resolvelib re-checks every pin each round, so one search over n models costs n² checks; groups of
    the look-ahead's forest cannot constrain each other, so searching them apart gives the same
    choices at linear cost. A group whose bases were not sure may pin a model another group pinned;
    then the groups were not independent and one joint search decides.
    """
    groups = provider.independent_groups()
    if len(groups) > 1:
        mapping: dict[Identity, Choice] = {}
        for group in groups:
            found = resolvelib.Resolver(provider, progress).resolve(group, max_rounds=max_rounds - progress.rounds)
            if not mapping.keys().isdisjoint(found.mapping):
                break
            mapping.update(found.mapping)
        else:
            return mapping
    return dict(resolvelib.Resolver(provider, progress).resolve(roots, max_rounds=max_rounds).mapping)


def _proven_impossible(provider: ModelProvider, declared: list[Demand]) -> ResolutionImpossible | None:
    """The explanation when the look-ahead proved before any search that nothing fits (``None`` to search anyway)."""
    unusable = explain_unusable(declared, provider)
    if unusable is not None:
        return unusable
    contradiction = provider.contradiction()
    return explain_failure(contradiction, declared, provider) if contradiction else None


def _resolution(provider: ModelProvider, catalog: Catalog, mapping: Mapping[Identity, Choice]) -> Resolution:
    names = provider.final_names(mapping)
    bases = {identity: provider.base_identity(choice) for identity, choice in mapping.items()}
    required_by: dict[Identity, list[str]] = {}
    for identity, base in bases.items():
        if base is not None:
            required_by.setdefault(base, []).append(names[identity])
    models = []
    for identity, choice in mapping.items():
        base = bases[identity]
        models.append(
            ResolvedModel(
                name=names[identity],
                candidate=choice.candidate,
                verdict=catalog.assessment(choice.name, choice.candidate).verdict,
                direct=provider.is_declared(identity),
                required_by=tuple(sorted(required_by.get(identity, ()))),
                base=names[base] if base is not None else None,
            )
        )
    models.sort(key=lambda m: m.name)
    warnings = dict.fromkeys(m.verdict.warning for m in models if m.verdict.warning)
    return Resolution(tuple(models), tuple(warnings))
