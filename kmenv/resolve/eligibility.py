"""Whether one model version may be used at all: the environment fits it and the licence policy allows it.

Pure. Every reason is kept (not just the first) so a failure can name each edit that would help.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmenv.policy import LicencePolicy, Verdict
from kmenv.values.candidates import Candidate
from kmenv.values.target import TargetEnvironment

__all__ = ["Assessment", "EnvironmentMiss", "assess"]


@dataclass(frozen=True)
class EnvironmentMiss:
    """One requirement of a version the environment does not meet.

    ``library`` is a canonical distribution name or ``python``; ``wanted`` its specifier
    (``""`` for any version); ``reason`` the readable sentence (``needs x>=2, environment has x 1.0``).
    """

    library: str
    wanted: str
    reason: str


@dataclass(frozen=True)
class Assessment:
    """A candidate with everything that rules it out; ``eligible`` when nothing does."""

    candidate: Candidate
    misses: tuple[EnvironmentMiss, ...]
    verdict: Verdict

    @property
    def eligible(self) -> bool:
        return not self.misses and self.verdict.allowed

    def reasons(self) -> tuple[str, ...]:
        """Readable reasons, environment first, then licence; empty when eligible."""
        found = [m.reason for m in self.misses]
        if not self.verdict.allowed:
            found.append(self.verdict.reason)
        return tuple(found)


def assess(name: str, candidate: Candidate, environment: TargetEnvironment, policy: LicencePolicy) -> Assessment:
    """Check ``candidate`` (known to the project as ``name``) against the environment and the licence policy."""
    misses = tuple(
        EnvironmentMiss(library, wanted, reason)
        for library, wanted in sorted(candidate.requires.items())
        for reason in environment.unmet({library: wanted})
    )
    return Assessment(candidate, misses, policy.evaluate(name, candidate.handle, candidate.license))
