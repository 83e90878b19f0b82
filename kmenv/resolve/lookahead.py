"""Look-ahead for shared bases: offer only base versions that every fine-tune sure to be resolved can work with.

Why: resolvelib learns what a fine-tune needs only when it pins that fine-tune, so a base pinned to
its newest version may leave a fine-tune pinned later with no compatible version, and the search
then backjumps through everything pinned in between (exponential on large projects). Model graphs
are trees (each version has at most one base), and on a tree, dropping every parent value that some
child cannot support (directional arc consistency) makes a parent-first search backtrack-free.

Pruning is sound: a version is dropped only when a model that is in *every* resolution (a declared
one, or the base that every usable version of such a model needs) has no usable version that fits
it. Discovery fetches only those sure models, which the search would fetch anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from kmenv.candidates import Candidate
from kmenv.handles import Handle
from kmenv.resolve.model import version_allowed

__all__ = ["Identity", "Lookahead"]

#: How the search tells models apart: ``(name,)`` for a declared model, ``(registry, handle)`` for another base.
Identity = tuple[str, ...]
Domain = Callable[[Identity], "Sequence[Candidate] | None"]
BaseLink = Callable[[Identity, Candidate], "tuple[Identity, str] | None"]


class Lookahead:
    """Answers "can every sure fine-tune of this model work with this version?", memoised.

    ``domain(identity)`` gives the versions a model may take ignoring what its fine-tunes need
    (eligible, within declared ranges), or ``None`` when listing them would cost fetches the
    search might not make (several instances behind a partial handle). ``base(identity,
    candidate)`` gives the base identity and version range that version needs.
    """

    def __init__(self, roots: Iterable[Identity], domain: Domain, base: BaseLink) -> None:
        self._roots = list(roots)
        self._domain = domain
        self._base = base
        self._sure: set[Identity] = set()
        self._parents: dict[Identity, Identity] = {}
        self._children: dict[Identity, list[Identity]] = {}
        self._supported: dict[tuple[Identity, Handle], bool] = {}
        self._levels: dict[Identity, int] = {}

    def supported(self, identity: Identity, candidate: Candidate) -> bool:
        """Whether each sure fine-tune of ``identity`` has a usable version compatible with ``candidate``."""
        key = (identity, candidate.handle)
        found = self._supported.get(key)
        if found is None:
            self._supported[key] = True  # a cycle in base metadata must not recurse forever
            children = self._sure_children().get(identity, ())
            found = self._supported[key] = all(
                any(self._fits(child, c, identity, candidate.version) for c in self._domain(child) or ())
                for child in children
            )
        return found

    def _fits(self, child: Identity, version: Candidate, parent: Identity, parent_version: int) -> bool:
        link = self._base(child, version)
        if link is not None and link[0] == parent and not version_allowed(link[1], parent_version):
            return False
        return self.supported(child, version)

    def sure_bases(self) -> dict[Identity, Identity]:
        """Fine-tune → base edges among the models sure to be resolved (every usable version needs that base)."""
        self._discover()
        return dict(self._parents)

    def level(self, identity: Identity) -> int | None:
        """Hops from ``identity`` down its sure bases to a model with none (0); ``None`` if not sure to be resolved."""
        self._discover()
        if identity not in self._sure:
            return None
        found = self._levels.get(identity)
        if found is None:
            depth, seen, step = 0, {identity}, identity
            while (step := self._parents.get(step, step)) not in seen:
                seen.add(step)
                depth += 1
            found = self._levels[identity] = depth
        return found

    def _sure_children(self) -> dict[Identity, list[Identity]]:
        self._discover()
        return self._children

    def _discover(self) -> None:
        """Walk from the declared models down their sure bases, recording the edges (once)."""
        if self._sure:
            return
        queue, self._sure = list(self._roots), set(self._roots)
        while queue:
            identity = queue.pop(0)
            versions = self._domain(identity)
            if not versions:
                continue
            bases = {link[0] if (link := self._base(identity, v)) is not None else None for v in versions}
            base = bases.pop()
            if bases or base is None:
                continue  # some usable version needs no base, or another one: no base is sure
            self._parents[identity] = base
            self._children.setdefault(base, []).append(identity)
            if base not in self._sure:
                self._sure.add(base)
                queue.append(base)
