"""The interface the resolver, lock and ``check`` use to ask about licences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kmenv.handles import Handle

__all__ = ["LicencePolicy", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """The policy's answer for one model version.

    ``spdx`` is the normalised id (or ``LicenseRef-kmenv-…``, or ``None`` when unknown).
    ``rule`` names the setting that decided (``policy.licenses.deny``) so errors can say
    which edit would change the outcome; ``warning`` is set when allowed with a caveat.
    """

    allowed: bool
    spdx: str | None
    rule: str
    reason: str
    warning: str | None = None


class LicencePolicy(Protocol):
    """Evaluates a licence for one model version; must be pure and deterministic."""

    def evaluate(self, name: str, handle: Handle, license: str | None) -> Verdict:
        """``name`` is the project's name for the model; ``handle`` is full and versioned."""
        ...

    def fingerprint(self) -> dict[str, object]:
        """A stable mapping of the settings, copied into the lock to detect policy changes."""
        ...
