"""Memoised, lazy access to the registries for one resolve, and the order candidates are offered in.

Asking a registry is the expensive part of resolving (one HTTP round trip per instance against
Kaggle), so each answer is fetched only when the search needs it and at most once per resolve.
Eligibility (environment and licence) is memoised per name and version for the same reason:
backtracking asks about the same versions many times.

Order: the instances a partial handle admits are offered framework by framework: instances
whose framework the environment supports first, then by :data:`kmenv.values.handles.FRAMEWORKS`
order, then by handle; within an instance, newest version first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kmenv.errors import ModelNotFoundError
from kmenv.policy import LicencePolicy
from kmenv.resolve.eligibility import Assessment, assess
from kmenv.values.candidates import Candidate
from kmenv.values.handles import FRAMEWORKS, Handle
from kmenv.values.target import TargetEnvironment, framework_requirements

if TYPE_CHECKING:
    from kmenv.resolve.interface import ModelIndex, ResolveReporter

__all__ = ["Catalog"]


class Catalog:
    """The registries as one resolve sees them: every answer fetched at most once."""

    def __init__(
        self,
        registries: Mapping[str, ModelIndex],
        environment: TargetEnvironment,
        policy: LicencePolicy,
        reporter: ResolveReporter | None,
    ) -> None:
        self.registries = registries
        self._environment = environment
        self._policy = policy
        self._reporter = reporter
        self._instances: dict[tuple[str, str, str], tuple[Handle, ...]] = {}
        self._versions: dict[tuple[str, Handle], tuple[Candidate, ...]] = {}
        # name -> id(candidate) -> its assessment: keyed by the object, not its handle, because hashing a handle
        # costs more than the lookup; the assessment holds its candidate, which both keeps the id valid and checks it
        self._assessments: dict[str, dict[int, Assessment]] = {}

    def instances(self, registry: str, handle: Handle) -> tuple[Handle, ...]:
        """The full instances ``handle`` admits, in offer order; a full handle needs no registry call.

        Raises :class:`ModelNotFoundError` when a partial handle admits no instance.
        """
        if not handle.is_partial:
            return (handle.unversioned(),)
        listed = self._listed(registry, handle.owner, handle.model)
        admitted = tuple(h for h in listed if handle.admits(h))
        if not admitted:
            known = ", ".join(str(h) for h in listed) or "none"
            raise ModelNotFoundError(
                f"registry {registry!r} has no instance matching {handle}",
                hint=f"instances of {handle.owner}/{handle.model}: {known}",
            )
        return admitted

    def versions(self, registry: str, instance: Handle) -> tuple[Candidate, ...]:
        """Every version of one full instance, newest first (fetched once)."""
        key = (registry, instance)
        found = self._versions.get(key)
        if found is None:
            if self._reporter is not None:
                self._reporter.fetching(instance)
            listed = self.registries[registry].versions(instance)
            found = tuple(sorted(listed, key=lambda c: c.version, reverse=True))
            self._versions[key] = found
        return found

    def assessment(self, name: str, candidate: Candidate) -> Assessment:
        """Whether ``candidate`` is usable as the model ``name`` (memoised per candidate object)."""
        known = self._assessments.get(name)
        if known is None:
            known = self._assessments[name] = {}
        found = known.get(id(candidate))
        if found is None or found.candidate is not candidate:
            found = known[id(candidate)] = assess(name, candidate, self._environment, self._policy)
        return found

    def _listed(self, registry: str, owner: str, model: str) -> tuple[Handle, ...]:
        key = (registry, owner, model)
        found = self._instances.get(key)
        if found is None:
            if self._reporter is not None:
                self._reporter.fetching(Handle(owner, model))
            listed = {h.unversioned() for h in self.registries[registry].instances(owner, model)}
            found = self._instances[key] = tuple(sorted(listed, key=self._offer_order))
        return found

    def _offer_order(self, instance: Handle) -> tuple[bool, int, str]:
        framework = instance.framework or ""
        unsupported = bool(self._environment.unmet(framework_requirements(framework)))
        rank = FRAMEWORKS.index(framework) if framework in FRAMEWORKS else len(FRAMEWORKS)
        return (unsupported, rank, str(instance))
