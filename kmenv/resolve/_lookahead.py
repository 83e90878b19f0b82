"""Look-ahead over the models sure to be resolved: drop versions that cannot work, and plan a choice to confirm.

Why: resolvelib learns what a fine-tune needs only when it pins that fine-tune. A base pinned early
can leave a later fine-tune without a compatible version, and the search then backjumps through
everything pinned in between; on large projects that grows exponentially. But the models sure to
be in every resolution (the declared ones, and the base every usable version of such a model
needs) form a forest: each version has at most one base. On a forest, arc consistency (keeping a
version only if each neighbour has a version compatible with it) leaves only versions that are
part of some solution, so a greedy choice never needs to backtrack.

The plan picks a version per sure model and narrows the neighbours after each pick: declared
models before bases; among those, models free to move (no preferred version: newly declared, or
named by ``upgrade``) before models that keep their locked version, so a forced move lands on the
locked models rather than on what the user asked to move; then by name. A model with a preferred
version keeps it while still possible, else takes the newest; a free one takes the newest. The
provider offers the planned version first; resolvelib then confirms it without conflicts. Pruning
is sound: a version is dropped only when a model that is in every resolution has no version
compatible with it. When the sure models admit no solution at all, the resolver explains that
without searching (see ``ModelProvider.contradiction``).

Discovery fetches only the sure models, which the search would fetch anyway.

The same walk splits the project into independent groups (:meth:`Lookahead.groups`): declared models
whose sure trees share no model cannot constrain each other, so each group can be searched on its
own. resolvelib re-examines every pinned model each round, which is quadratic in the models one
search holds; searching groups apart keeps lock time linear in the number of models.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence

from kmenv.resolve.interface import version_allowed
from kmenv.values.candidates import Candidate

__all__ = ["Identity", "Lookahead"]

#: How the search tells models apart: ``(name,)`` for a declared model, ``(registry, handle)`` for another base.
Identity = tuple[str, ...]
Domain = Callable[[Identity], "Sequence[Candidate] | None"]
BaseLink = Callable[[Identity, Candidate], "tuple[Identity, str] | None"]
Preferred = Callable[[Identity], "int | None"]


class Lookahead:
    """Arc consistency and a plan over the sure models, computed once on first use.

    ``domain(identity)`` gives the versions a model may take whatever its fine-tunes need
    (eligible, within declared ranges), or ``None`` when listing them would cost fetches the search
    might not make (several instances behind a partial handle). ``base(identity, candidate)`` gives
    the base identity and version range that version needs. ``preferred(identity)`` is the locked
    version to keep when possible.
    """

    def __init__(
        self,
        roots: Iterable[Identity],
        domain: Domain,
        base: BaseLink,
        preferred: Preferred,
    ) -> None:
        self._roots = sorted(roots)
        # The callbacks are the provider's methods, and the provider holds this object: kept, they would make a
        # reference cycle, so a resolve's memo tables would outlive it until a full garbage collection. They are
        # needed only by the one run, which drops them.
        self._sources: tuple[Domain, BaseLink, Preferred] | None = (domain, base, preferred)
        self._contradicted = False
        self._conflict_point: Identity | None = None
        self._parents: dict[Identity, Identity] = {}
        self._children: dict[Identity, list[Identity]] = {}
        self._fits: dict[Identity, dict[int, frozenset[int]]] = {}
        self._possible: dict[Identity, frozenset[int]] = {}
        self._plan: dict[Identity, int] = {}
        self._closed: set[Identity] = set()  # every usable version's base is known (none, or one sure base)
        self._domains_seen: set[Identity] = set()

    def allowed(self, identity: Identity, candidate: Candidate) -> bool:
        """False only for a version of a sure model that no resolution can contain."""
        self._run()
        possible = self._possible.get(identity)
        return possible is None or candidate.version in possible

    def contradicted(self) -> bool:
        """True when the sure models admit no solution at all (the search is then sure to fail)."""
        self._run()
        return self._contradicted

    def conflict_point(self) -> Identity | None:
        """When contradicted: the base whose fine-tunes (or declaration) could not agree on a version."""
        self._run()
        return self._conflict_point

    def sure_children(self, identity: Identity) -> list[Identity]:
        """The sure fine-tunes whose every usable version needs ``identity`` as base."""
        self._run()
        return list(self._children.get(identity, ()))

    def planned(self, identity: Identity) -> int | None:
        """The version the plan chose for a sure model; ``None`` for other models or when there is no plan."""
        self._run()
        return self._plan.get(identity)

    def groups(self) -> list[list[Identity]]:
        """The declared models split into groups no search of another group can touch, in name order.

        Two declared models share a group when their sure trees meet. A model whose base is not sure
        (versions that need different bases, or a base behind a partial handle) may reach any model
        during the search, so every such tree falls into one shared group, searched jointly.
        """
        self._run()

        def root_of(identity: Identity) -> Identity:
            while identity in self._parents:
                identity = self._parents[identity]
            return identity

        open_trees = {root_of(i) for i in self._domains_seen if i not in self._closed}
        grouped: dict[Identity | None, list[Identity]] = {}
        for identity in self._roots:
            tree = root_of(identity)
            key = None if identity not in self._closed or tree in open_trees else tree
            grouped.setdefault(key, []).append(identity)
        return sorted(grouped.values())

    # -- the work, once ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        if self._sources is None:
            return
        domain, base, preferred = self._sources
        self._sources = None
        domains = self._discover(domain, base)
        if not self._propagate(domains, list(domains)):
            self._contradicted = True  # no solution among the sure models: no pruning, no plan; see conflict_point
            return
        self._possible = {i: frozenset(d) for i, d in domains.items()}
        # declared before bases; models free to move (no preference) before those that keep a locked version
        order = sorted(domains, key=lambda i: (len(i) != 1, preferred(i) is not None, i))
        for identity in order:
            choices = domains[identity]
            wanted = preferred(identity)
            pick = wanted if wanted in choices else max(choices)
            domains[identity] = {pick}
            if not self._propagate(domains, [identity]):  # cannot happen on a forest; keep the search honest anyway
                self._plan = {}
                return
            self._plan[identity] = pick

    def _discover(self, domain: Domain, base_link: BaseLink) -> dict[Identity, set[int]]:
        """Walk from the declared models down their sure bases; return each sure model's usable versions."""
        domains: dict[Identity, set[int]] = {}
        links: dict[Identity, dict[int, str]] = {}
        queue = deque(self._roots)
        seen = set(queue)
        while queue:
            identity = queue.popleft()
            versions = domain(identity)
            if versions is None:
                continue
            domains[identity] = {v.version for v in versions}
            found = {v.version: base_link(identity, v) for v in versions}
            bases = {link[0] if link is not None else None for link in found.values()}
            if bases <= {None}:
                self._closed.add(identity)  # no usable version needs a base
            if len(bases) != 1 or None in bases:
                continue  # some usable version needs no base, or another one: no base is sure
            [base] = bases
            assert base is not None
            self._parents[identity] = base
            self._children.setdefault(base, []).append(identity)
            links[identity] = {version: link[1] for version, link in found.items() if link is not None}
            if base not in seen:
                seen.add(base)
                queue.append(base)
        self._domains_seen = set(domains)
        for child, base in list(self._parents.items()):
            if base not in domains:  # a base behind a partial handle: no look-ahead across that edge
                del self._parents[child]
                self._children[base].remove(child)
                continue
            self._closed.add(child)
            self._fits[child] = {
                version: frozenset(b for b in domains[base] if version_allowed(spec, b))
                for version, spec in links[child].items()
            }
        return domains

    def _propagate(self, domains: dict[Identity, set[int]], changed: list[Identity]) -> bool:
        """Arc consistency from ``changed`` outwards; False when some sure model is left with no version."""
        queue = list(changed)
        while queue:
            identity = queue.pop()
            for neighbour in self._neighbours(identity):
                narrowed = self._narrowed(domains, neighbour, identity)
                if narrowed != domains[neighbour]:
                    if not narrowed:
                        self._conflict_point = identity if self._parents.get(neighbour) == identity else neighbour
                        return False
                    domains[neighbour] = narrowed
                    queue.append(neighbour)
        return all(domains.values())

    def _neighbours(self, identity: Identity) -> list[Identity]:
        parent = self._parents.get(identity)
        return [*self._children.get(identity, ()), *([parent] if parent is not None else [])]

    def _narrowed(self, domains: Mapping[Identity, set[int]], target: Identity, by: Identity) -> set[int]:
        """``target``'s versions that keep some version of its neighbour ``by`` compatible."""
        if self._parents.get(target) == by:  # target is the fine-tune: its version must fit some base version
            return {v for v in domains[target] if self._fits[target][v] & domains[by]}
        fits = self._fits[by]  # target is the base: some fine-tune version must fit it
        supported: set[int] = set()
        for version in domains[by]:
            supported |= fits[version]
        return domains[target] & supported
