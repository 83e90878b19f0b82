"""The resolvelib provider: models as identities, versions as candidates, base models as dependencies.

Identities: a declared model is identified by its project name, ``(name,)``. A fine-tune's
base model unifies with a declaration when the project declares that base (same registry, and
one handle admits the other); otherwise it is identified by ``(registry, handle)`` and gets a
derived name, ``<model>-<variation>`` (see :func:`derived_name`). The two shapes never collide.

Candidates are offered lazily (see :mod:`kmenv.resolve.catalog` for the order): resolvelib
takes only the first match until it needs more, so instances a partial handle admits but the
search never reaches are never fetched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from resolvelib import AbstractProvider

from kmenv.candidates import Candidate
from kmenv.errors import RegistryDocumentError
from kmenv.handles import Handle
from kmenv.resolve.catalog import Catalog
from kmenv.resolve.eligibility import Assessment
from kmenv.resolve.explain import Demand, ambiguous_variation, undeclared_base_registry
from kmenv.resolve.lookahead import Identity, Lookahead
from kmenv.resolve.model import Requirement, specifier_error

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

__all__ = ["Choice", "Identity", "ModelProvider", "derived_name"]

_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def derived_name(handle: Handle, taken: Collection[str]) -> str:
    """A folder-safe name for a base model nobody declared: ``<model>-<variation>``, suffixed ``-2``… if taken."""
    stem = f"{handle.model}-{handle.variation}" if handle.variation else handle.model
    stem = _UNSAFE.sub("-", stem.lower()).strip("-.") or "base"
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    return name


@dataclass(frozen=True, eq=False)
class Choice:
    """One candidate offered for one identity; one object per (identity, version), so identity is equality."""

    identity: Identity
    name: str
    candidate: Candidate

    def __repr__(self) -> str:
        return f"Choice({self.name}={self.candidate.handle})"


class ModelProvider(AbstractProvider[Requirement, Choice, Identity]):
    """Answers resolvelib's questions from the :class:`Catalog`; also answers the explanation's :class:`Facts`."""

    def __init__(self, roots: Sequence[Requirement], catalog: Catalog, preferred: Mapping[str, int]) -> None:
        self._catalog = catalog
        self._preferred = preferred
        self._declared: dict[str, list[Requirement]] = {}
        for req in roots:
            self._declared.setdefault(req.name, []).append(req)
        self._names: dict[Identity, str] = {(n,): n for n in self._declared}
        self._anchors: dict[Identity, Requirement] = {(n,): reqs[0] for n, reqs in self._declared.items()}
        self._identities: dict[str, Identity] = {n: (n,) for n in self._declared}
        self._demands: dict[Identity, dict[Requirement, set[int]]] = {
            (n,): {r: set() for r in reqs} for n, reqs in self._declared.items()
        }
        self._choices: dict[tuple[Identity, Handle], Choice] = {}
        self._bases: dict[tuple[str, str, Handle], Requirement | None] = {}
        self._instances: dict[tuple[Identity, frozenset[Handle]], tuple[Handle, ...]] = {}
        self._lookahead = Lookahead(self._anchors, self._domain, self._link)

    # -- identities --------------------------------------------------------------------------------------------
    def identify(self, requirement_or_candidate: Requirement | Choice) -> Identity:
        if isinstance(requirement_or_candidate, Choice):
            return requirement_or_candidate.identity
        req = requirement_or_candidate
        return (req.name,) if req.name in self._declared else (req.registry, str(req.handle))

    def name_of(self, identity: Identity) -> str:
        return self._names[identity]

    def is_declared(self, identity: Identity) -> bool:
        return len(identity) == 1

    def final_names(self, identities: Iterable[Identity]) -> dict[Identity, str]:
        """Names for resolved identities: declared ones as given; derived ones unique, assigned in identity order.

        Derived names are settled only now, from the final set, so they do not depend on the order the
        search happened to meet the bases in.
        """
        ordered = sorted(identities)
        names = {i: self._names[i] for i in ordered if self.is_declared(i)}
        taken = set(self._declared)
        for identity in ordered:
            if not self.is_declared(identity):
                names[identity] = derived_name(self._anchors[identity].handle, taken)
                taken.add(names[identity])
        return names

    def base_identity(self, choice: Choice) -> Identity | None:
        base = self.base_of(choice.name, choice.candidate)
        identity = None if base is None else self.identify(base)
        return None if identity == choice.identity else identity

    def sure_bases(self) -> list[Requirement]:
        """A requirement for every base no declared model can do without, so the search can pin it first.

        Each names (as ``parent``) the fine-tune that needs it; its version range is left to those fine-tunes.
        """
        found = []
        for child, base in sorted(self._lookahead.sure_bases().items()):
            if not self.is_declared(base):
                anchor = self._anchors[base]
                found.append(Requirement(anchor.name, anchor.handle, "", anchor.registry, self._names[child]))
        return list({r.name: r for r in found}.values())

    # -- resolvelib ------------------------------------------------------------------------------------------------
    def narrow_requirement_selection(
        self,
        identifiers: Iterable[Identity],
        resolutions: Mapping[Identity, Choice],
        candidates: Mapping[Identity, Iterator[Choice]],
        information: Mapping[Identity, Iterator[RequirementInformation[Requirement, Choice]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Choice]],
    ) -> Iterable[Identity]:
        """Work on what the last conflict involved first (resolvelib >= 1.1 calls this; older ones skip it)."""
        pending = list(identifiers)
        if backtrack_causes:
            involved = {self.identify(c.requirement) for c in backtrack_causes}
            involved.update(self.identify(c.parent) for c in backtrack_causes if c.parent is not None)
            focused = [i for i in pending if i in involved]
            if focused:
                return focused
        return pending

    def get_preference(
        self,
        identifier: Identity,
        resolutions: Mapping[Identity, Choice],
        candidates: Mapping[Identity, Iterator[Choice]],
        information: Mapping[Identity, Iterator[RequirementInformation[Requirement, Choice]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Choice]],
    ) -> Any:
        """Which model to pin next: smaller sorts first.

        Forced choices (one candidate left) first. Then models sure to be resolved, bases before
        their fine-tunes: with the look-ahead's pruning, that parent-first order never backtracks on
        tree-shaped model graphs. Then bases a pinned model needs (pinned right after it), then the
        rest. Name breaks ties, for determinism. Counting stops at two, so a lazily offered model
        fetches at most one more version list.
        """
        forced = sum(1 for _ in islice(candidates[identifier], 2)) <= 1
        level = self._lookahead.level(identifier)
        if level is None:
            needed = any(info.parent is not None for info in information[identifier])
            level = 1 << 30 if needed else -1
        return (not forced, -level, self._names[identifier])

    def find_matches(
        self,
        identifier: Identity,
        requirements: Mapping[Identity, Iterator[Requirement]],
        incompatibilities: Mapping[Identity, Iterator[Choice]],
    ) -> Callable[[], Iterator[Choice]] | list[Choice]:
        reqs = list(requirements[identifier]) or [self._anchors[identifier]]
        banned = {c.candidate.handle for c in incompatibilities[identifier]}
        name = self._names[identifier]
        instances = self._admitted_instances(identifier, reqs)
        registry = reqs[0].registry

        def matches() -> Iterator[Choice]:
            for instance in instances:
                for candidate in self._catalog.versions(registry, instance):
                    if (
                        candidate.handle not in banned
                        and all(r.admits(candidate) for r in reqs)
                        and self._catalog.assessment(name, candidate).eligible
                        and self._lookahead.supported(identifier, candidate)
                    ):
                        yield self._choice(identifier, name, candidate)

        wanted = self._preferred.get(name)
        if wanted is None:
            return matches
        found = list(matches())
        return sorted(found, key=lambda c: c.candidate.version != wanted)  # stable: the locked version first

    def is_satisfied_by(self, requirement: Requirement, candidate: Choice) -> bool:
        return requirement.admits(candidate.candidate)

    def get_dependencies(self, candidate: Choice) -> list[Requirement]:
        base = self.base_of(candidate.name, candidate.candidate)
        if base is None:
            return []
        identity = self.identify(base)
        if identity == candidate.identity:  # a model cannot be its own base; ignore such metadata
            return []
        self._demands.setdefault(identity, {}).setdefault(base, set()).add(candidate.candidate.version)
        return [base]

    # -- facts for explanations --------------------------------------------------------------------------------
    def options(self, requirement: Requirement) -> list[Assessment]:
        return [
            self._catalog.assessment(requirement.name, candidate)
            for instance in self._catalog.instances(requirement.registry, requirement.handle)
            for candidate in self._catalog.versions(requirement.registry, instance)
        ]

    def base_of(self, name: str, candidate: Candidate) -> Requirement | None:
        """The requirement ``candidate`` (used as ``name``) has on its base model; memoised per version."""
        key = (name, candidate.registry, candidate.handle)
        if key not in self._bases:
            base = self._bases[key] = self._base_requirement(name, candidate)
            if base is not None:
                identity = self.identify(base)
                self._names.setdefault(identity, base.name)
                self._identities.setdefault(base.name, identity)
                self._anchors.setdefault(identity, base)
        return self._bases[key]

    def demands_on(self, name: str) -> list[Demand]:
        identity = self._identities.get(name)
        if identity is None:
            return []
        found = [Demand(r, tuple(sorted(v))) for r, v in self._demands.get(identity, {}).items()]
        return sorted(found, key=Demand.order)

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _choice(self, identity: Identity, name: str, candidate: Candidate) -> Choice:
        key = (identity, candidate.handle)
        found = self._choices.get(key)
        if found is None:
            found = self._choices[key] = Choice(identity, name, candidate)
        return found

    def _admitted_instances(self, identity: Identity, reqs: Sequence[Requirement]) -> tuple[Handle, ...]:
        """Instances every requirement admits, in offer order; several variations are an error, not a choice."""
        handles = frozenset(r.handle for r in reqs)
        key = (identity, handles)
        found = self._instances.get(key)
        if found is None:
            widest_first = sorted(reqs, key=lambda r: (r.handle.framework is not None, r.handle.variation is not None))
            narrowest = widest_first[-1]
            listed = self._catalog.instances(narrowest.registry, narrowest.handle)
            found = tuple(i for i in listed if all(h.admits(i) for h in handles))
            variations = sorted({i.variation or "" for i in found})
            if len(variations) > 1:
                raise ambiguous_variation(narrowest, narrowest.registry, variations)
            self._instances[key] = found
        return found

    def _domain(self, identity: Identity) -> list[Candidate] | None:
        """Usable versions of a model whatever its fine-tunes need; ``None`` if that means choosing an instance."""
        anchor = self._anchors[identity]
        if self.is_declared(identity):
            reqs = self._declared[anchor.name]
        else:  # a base: its version range differs with each fine-tune version, so only its handle applies here
            reqs = [Requirement(anchor.name, anchor.handle, "", anchor.registry)]
        instances = self._admitted_instances(identity, reqs)
        if len(instances) != 1:
            return None
        return [
            c
            for c in self._catalog.versions(anchor.registry, instances[0])
            if all(r.admits(c) for r in reqs) and self._catalog.assessment(anchor.name, c).eligible
        ]

    def _link(self, identity: Identity, candidate: Candidate) -> tuple[Identity, str] | None:
        base = self.base_of(self._names[identity], candidate)
        if base is None or self.identify(base) == identity:
            return None
        return (self.identify(base), base.versions)

    def _base_requirement(self, parent: str, candidate: Candidate) -> Requirement | None:
        ref = candidate.base
        if ref is None:
            return None
        registry = ref.registry or candidate.registry
        if registry not in self._catalog.registries:
            raise undeclared_base_registry(parent, candidate, registry)
        handle = ref.handle.unversioned()
        versions = ",".join(v for v in (ref.versions, f"=={ref.handle.version}" if ref.handle.version else "") if v)
        problem = specifier_error(versions)
        if problem is not None:
            raise RegistryDocumentError(
                f"registry {candidate.registry!r}: {candidate} declares base {ref} with a bad version range: {problem}",
                hint="report it to whoever publishes the model; versions are PEP 440 specifiers like >=2",
            )
        return Requirement(self._name_for_base(registry, handle), handle, versions, registry, parent)

    def _name_for_base(self, registry: str, handle: Handle) -> str:
        """The declared name when the project declares this base, else a derived one (stable for the resolve)."""
        declared = sorted(
            (req.handle != handle, name)
            for name, reqs in self._declared.items()
            for req in reqs
            if req.registry == registry and (req.handle.admits(handle) or handle.admits(req.handle))
        )
        if declared:
            return declared[0][1]
        identity = (registry, str(handle))
        return self._names.get(identity) or derived_name(handle, self._declared)
