"""The resolvelib provider: models as identities, versions as candidates, base models as dependencies.

Identities: a declared model is identified by its project name, ``(name,)``. A fine-tune's
base model unifies with a declaration when the project declares that base (same registry, and
one handle admits the other); otherwise it is identified by ``(registry, handle)`` and gets a
derived name, ``<model>-<variation>`` (see :func:`derived_name`). The two shapes never collide.

Candidates are offered lazily (see :mod:`kmenv.resolve._catalog` for the order): resolvelib
takes only the first match until it needs more, so instances a partial handle admits but the
search never reaches are never fetched. For models sure to be resolved, the look-ahead
(:mod:`kmenv.resolve._lookahead`) drops versions that cannot be part of any resolution and puts
its planned version first, so on tree-shaped model graphs the search confirms a plan instead of
backtracking. A work limit tied to ``max_rounds`` stops any search that would still run away.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import TYPE_CHECKING, Any

from resolvelib import AbstractProvider

from kmenv.errors import RegistryDocumentError
from kmenv.resolve._catalog import Catalog
from kmenv.resolve._explain import Demand
from kmenv.resolve._lookahead import Identity, Lookahead
from kmenv.resolve._wording import ambiguous_variation, undeclared_base_registry
from kmenv.resolve.eligibility import Assessment
from kmenv.resolve.interface import Requirement, specifier_error
from kmenv.values.candidates import Candidate
from kmenv.values.handles import Handle

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

__all__ = ["Choice", "Identity", "ModelProvider", "SearchExhausted", "derived_name"]

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


class SearchExhausted(Exception):
    """The search used up its work limit (see ``max_rounds``) without an answer."""


@dataclass(frozen=True, eq=False)
class Choice:
    """One candidate offered for one identity; one object per (identity, version), so identity is equality."""

    identity: Identity
    name: str
    candidate: Candidate

    def __repr__(self) -> str:
        return f"Choice({self.name}={self.candidate.handle})"


if TYPE_CHECKING:
    _Provider = AbstractProvider[Requirement, Choice, Identity]
else:  # resolvelib < 1.1 ships its generics only in stubs; at run time the class is not subscriptable
    _Provider = AbstractProvider


class ModelProvider(_Provider):
    """Answers resolvelib's questions from the :class:`Catalog`; also answers the explanation's :class:`Facts`."""

    def __init__(
        self, roots: Sequence[Requirement], catalog: Catalog, preferred: Mapping[str, int], *, work_limit: int
    ) -> None:
        self._catalog = catalog
        self._preferred = preferred
        self._work_left = work_limit
        self._declared: dict[str, list[Requirement]] = {}
        self._declared_by_model: dict[tuple[str, str, str], list[Requirement]] = {}  # to unify bases quickly
        for req in roots:
            self._declared.setdefault(req.name, []).append(req)
            self._declared_by_model.setdefault((req.registry, req.handle.owner, req.handle.model), []).append(req)
        self._names: dict[Identity, str] = {(n,): n for n in self._declared}
        self._anchors: dict[Identity, Requirement] = {(n,): reqs[0] for n, reqs in self._declared.items()}
        self._identities: dict[str, Identity] = {n: (n,) for n in self._declared}
        self._demands: dict[Identity, dict[Requirement, set[int]]] = {
            (n,): {r: set() for r in reqs} for n, reqs in self._declared.items()
        }
        self._choices: dict[Identity, dict[int, Choice]] = {}  # by id(candidate), checked, as the memos below
        # name -> id(candidate) -> (candidate, its base requirement), keyed and checked by object as in the Catalog
        self._bases: dict[str, dict[int, tuple[Candidate, Requirement | None]]] = {}
        self._base_names: dict[tuple[str, Handle], tuple[Handle, str]] = {}
        self._instances: dict[tuple[Identity, frozenset[Handle]], tuple[Handle, ...]] = {}
        self._satisfied: dict[tuple[int, int], bool] = {}
        self._lookahead = Lookahead(
            list(self._anchors), self._domain, self._link, lambda i: self._preferred.get(self._names[i])
        )

    # -- identities --------------------------------------------------------------------------------------------
    def identify(self, requirement_or_candidate: Requirement | Choice) -> Identity:
        if isinstance(requirement_or_candidate, Choice):
            return requirement_or_candidate.identity
        req = requirement_or_candidate
        return (req.name,) if req.name in self._declared else (req.registry, str(req.handle))

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

    def doomed(self) -> bool:
        """True when the models sure to be resolved already contradict each other, before any search."""
        return self._lookahead.contradicted()

    def independent_groups(self) -> list[list[Requirement]]:
        """The declared requirements split into groups that can be searched apart (see ``Lookahead.groups``)."""
        return [[r for (name,) in group for r in self._declared[name]] for group in self._lookahead.groups()]

    def contradiction(self) -> list[Demand]:
        """When doomed: every demand on the base where the sure models disagree, from its declaration and fine-tunes."""
        point = self._lookahead.conflict_point()
        if point is None:
            return []
        found = [Demand(r) for r in self._declared[point[0]]] if self.is_declared(point) else []
        for child in self._lookahead.sure_children(point):
            needs: dict[Requirement, list[int]] = {}
            for candidate in self._domain(child) or ():
                base = self.base_of(self._names[child], candidate)
                if base is not None:
                    needs.setdefault(base, []).append(candidate.version)
            found += [Demand(req, tuple(sorted(versions))) for req, versions in needs.items()]
        return found

    # -- resolvelib ------------------------------------------------------------------------------------------------
    def narrow_requirement_selection(
        self,
        identifiers: Iterable[Identity],
        resolutions: Mapping[Identity, Choice],
        candidates: Mapping[Identity, Iterator[Choice]],
        information: Mapping[Identity, Iterator[RequirementInformation[Requirement, Choice]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Choice]],
    ) -> Iterable[Identity]:
        """Pick the one model to pin next (resolvelib >= 1.1 calls this; older ones use ``get_preference``).

        What the last conflict involved comes first; among those (or all), the :meth:`get_preference`
        order. Choosing here, in one pass, spares resolvelib a sort-key call per model per round.
        """
        pending = list(identifiers)
        if backtrack_causes:
            involved = {self.identify(c.requirement) for c in backtrack_causes}
            involved.update(self.identify(c.parent) for c in backtrack_causes if c.parent is not None)
            pending = [i for i in pending if i in involved] or pending
        return [min(pending, key=lambda i: self._preference(i, candidates, information))]

    def get_preference(
        self,
        identifier: Identity,
        resolutions: Mapping[Identity, Choice],
        candidates: Mapping[Identity, Iterator[Choice]],
        information: Mapping[Identity, Iterator[RequirementInformation[Requirement, Choice]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Choice]],
    ) -> Any:
        return self._preference(identifier, candidates, information)

    def _preference(
        self,
        identifier: Identity,
        candidates: Mapping[Identity, Iterator[Choice]],
        information: Mapping[Identity, Iterator[RequirementInformation[Requirement, Choice]]],
    ) -> tuple[bool, bool, str]:
        """Which model to pin next: smaller sorts first.

        Forced choices (one candidate left) first; then bases some pinned model needs, so a base is
        pinned right after the model that brought it in; then the rest. Name breaks ties, for
        determinism. (Models sure to be resolved are offered their planned version first, see
        :mod:`kmenv.resolve._lookahead`, so their order hardly matters.) Counting stops at two, so a
        lazily offered model fetches at most one more version list.
        """
        forced = sum(1 for _ in islice(candidates[identifier], 2)) <= 1
        needed = any(info.parent is not None for info in information[identifier])
        return (not forced, not needed, self._names[identifier])

    def find_matches(
        self,
        identifier: Identity,
        requirements: Mapping[Identity, Iterator[Requirement]],
        incompatibilities: Mapping[Identity, Iterator[Choice]],
    ) -> Callable[[], Iterator[Choice]] | list[Choice]:
        reqs = list(requirements[identifier]) or [self._anchors[identifier]]
        banned = {c.candidate.handle for c in self._metered(incompatibilities[identifier])}
        name = self._names[identifier]
        instances = self._admitted_instances(identifier, reqs)
        registry = reqs[0].registry

        def matches() -> Iterator[Choice]:
            for instance in instances:
                for candidate in self._catalog.versions(registry, instance):
                    if (
                        (not banned or candidate.handle not in banned)
                        and all(r.admits(candidate) for r in reqs)
                        and self._catalog.assessment(name, candidate).eligible
                        and self._lookahead.allowed(identifier, candidate)
                    ):
                        yield self._choice(identifier, name, candidate)

        planned = self._lookahead.planned(identifier)
        wanted = planned if planned is not None else self._preferred.get(name)
        if wanted is None:
            return matches
        found = list(matches())
        return sorted(found, key=lambda c: c.candidate.version != wanted)  # stable: the wanted version first

    def is_satisfied_by(self, requirement: Requirement, candidate: Choice) -> bool:
        """Memoised: resolvelib re-checks every pin against every requirement each round.

        Keyed by object identity, which is stable: this provider keeps every requirement and choice it hands out.
        """
        key = (id(requirement), id(candidate))
        found = self._satisfied.get(key)
        if found is None:
            found = self._satisfied[key] = requirement.admits(candidate.candidate)
        return found

    def get_dependencies(self, candidate: Choice) -> list[Requirement]:
        base = self.base_of(candidate.name, candidate.candidate)
        if base is None:
            return []
        if base.registry not in self._catalog.registries:
            raise undeclared_base_registry(candidate.name, candidate.candidate, base.registry)
        identity = self.identify(base)
        if identity == candidate.identity:  # a model cannot be its own base; ignore such metadata
            return []
        self._demands.setdefault(identity, {}).setdefault(base, set()).add(candidate.candidate.version)
        return [base]

    # -- facts for explanations --------------------------------------------------------------------------------
    def options(self, requirement: Requirement) -> list[Assessment]:
        if requirement.registry not in self._catalog.registries:
            return []
        return [
            self._catalog.assessment(requirement.name, candidate)
            for instance in self._catalog.instances(requirement.registry, requirement.handle)
            for candidate in self._catalog.versions(requirement.registry, instance)
        ]

    def base_of(self, name: str, candidate: Candidate) -> Requirement | None:
        """The requirement ``candidate`` (used as ``name``) has on its base model; memoised per version."""
        known = self._bases.get(name)
        if known is None:
            known = self._bases[name] = {}
        found = known.get(id(candidate))
        if found is not None and found[0] is candidate:
            return found[1]
        base = self._base_requirement(name, candidate)
        known[id(candidate)] = (candidate, base)
        if base is not None:
            identity = self.identify(base)
            self._names.setdefault(identity, base.name)
            self._identities.setdefault(base.name, identity)
            self._anchors.setdefault(identity, base)
        return base

    def demands_on(self, name: str) -> list[Demand]:
        identity = self._identities.get(name)
        if identity is None:
            return []
        found = [Demand(r, tuple(sorted(v))) for r, v in self._demands.get(identity, {}).items()]
        return sorted(found, key=Demand.order)

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _metered(self, items: Iterator[Choice]) -> Iterator[Choice]:
        """Count the search's bookkeeping against the work limit, so no resolve can run away.

        resolvelib bounds rounds, but one round can backjump through ever longer incompatibility lists.
        """
        for item in items:
            self._work_left -= 1
            if self._work_left < 0:
                raise SearchExhausted
            yield item

    def _choice(self, identity: Identity, name: str, candidate: Candidate) -> Choice:
        known = self._choices.get(identity)
        if known is None:
            known = self._choices[identity] = {}
        found = known.get(id(candidate))
        if found is None or found.candidate is not candidate:
            found = known[id(candidate)] = Choice(identity, name, candidate)
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
        if anchor.registry not in self._catalog.registries:
            return None
        # a base's version range differs with each fine-tune version, so only its handle applies here
        reqs = self._declared[anchor.name] if self.is_declared(identity) else [replace(anchor, versions="")]
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
        handle, name = self._base_name(registry, ref.handle)
        versions = ",".join(v for v in (ref.versions, f"=={ref.handle.version}" if ref.handle.version else "") if v)
        problem = specifier_error(versions)
        if problem is not None:
            raise RegistryDocumentError(
                f"registry {candidate.registry!r}: {candidate} declares base {ref} with a bad version range: {problem}",
                hint="report it to whoever publishes the model; versions are PEP 440 specifiers like >=2",
            )
        return Requirement(name, handle, versions, registry, parent)

    def _base_name(self, registry: str, handle: Handle) -> tuple[Handle, str]:
        """The unversioned base handle and its name, once per base: every version of a fine-tune asks again."""
        key = (registry, handle)
        found = self._base_names.get(key)
        if found is None:
            unversioned = handle.unversioned()
            found = self._base_names[key] = (unversioned, self._name_for_base(registry, unversioned))
        return found

    def _name_for_base(self, registry: str, handle: Handle) -> str:
        """The declared name when the project declares this base, else a derived one (stable for the resolve)."""
        declared = sorted(
            (req.handle != handle, req.name)
            for req in self._declared_by_model.get((registry, handle.owner, handle.model), ())
            if req.handle.admits(handle) or handle.admits(req.handle)
        )
        if declared:
            return declared[0][1]
        identity = (registry, str(handle))
        return self._names.get(identity) or derived_name(handle, self._declared)
