"""The interface the resolver, lock and ``check`` use to ask about licences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kmenv.policy._entries import PolicyException
from kmenv.values.handles import Handle

__all__ = ["LeafDecision", "LicencePolicy", "Verdict"]


@dataclass(frozen=True)
class LeafDecision:
    """The policy's answer for one licence id of an expression (``X WITH Y`` counts as one id).

    ``rule`` is the setting that decided (``policy.licenses.allow-categories``); ``category`` and
    ``flags`` come from the licence table; ``exception`` is the index of the
    ``policy.licenses.exceptions`` entry that allowed it, if one did; ``warning`` is set when the
    id is allowed only because ``unknown: warn``.
    """

    licence: str
    allowed: bool
    rule: str
    reason: str
    category: str = "unknown"
    flags: tuple[str, ...] = ()
    exception: int | None = None
    warning: bool = False


@dataclass(frozen=True)
class Verdict:
    """The policy's answer for one model version.

    ``spdx`` is the normalised expression (SPDX ids or ``LicenseRef-kmenv-…``; ``None`` when some
    part of it is unknown). ``rule`` names the setting that decided (``policy.licenses.deny``) so
    errors can say which edit would change the outcome; ``warning`` is set when allowed with a
    caveat. ``status`` is ``ok``, ``unknown``, ``unparseable`` or ``missing`` (how normalisation
    went); ``leaves`` are the per-id decisions that carried the verdict (for a denial: every id
    that failed); ``clarified`` is True when a ``clarify`` entry replaced the published licence.
    """

    allowed: bool
    spdx: str | None
    rule: str
    reason: str
    warning: str | None = None
    status: str = "ok"
    expression: str | None = None
    leaves: tuple[LeafDecision, ...] = ()
    clarified: bool = False

    @property
    def denied_ids(self) -> tuple[str, ...]:
        """The ids whose denial sank the verdict (empty when allowed)."""
        return tuple(leaf.licence for leaf in self.leaves if not leaf.allowed)

    @property
    def category(self) -> str:
        """The most restrictive category among the deciding ids (``unknown`` when none)."""
        from kmenv.policy.table import CATEGORIES

        found = [leaf.category for leaf in self.leaves if leaf.category in CATEGORIES]
        return max(found, key=CATEGORIES.index) if found else "unknown"


class LicencePolicy(Protocol):
    """Evaluates a licence for one model version; must be pure and deterministic.

    ``evaluate`` and ``fingerprint`` are what every policy answers. ``exceptions`` and ``decide``
    serve ``check``'s findings that need more than one verdict (unused exceptions, fine-tunes of
    no-derivatives bases); a policy without per-id rules inherits their no-op defaults.
    """

    def evaluate(self, name: str, handle: Handle, license: str | None) -> Verdict:
        """``name`` is the project's name for the model; ``handle`` is full and versioned."""
        ...

    def fingerprint(self) -> dict[str, object]:
        """A stable mapping of the settings, copied into the lock to detect policy changes."""
        ...

    @property
    def exceptions(self) -> Sequence[PolicyException]:
        """The ``policy.licenses.exceptions`` entries, in order (indices match :attr:`LeafDecision.exception`)."""
        return ()

    def decide(self, licence: str, name: str, handle: Handle) -> LeafDecision | None:
        """The decision for one licence id used by ``name`` at ``handle``; ``None`` without per-id rules."""
        return None
