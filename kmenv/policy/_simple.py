"""The policy of a project without one."""

from __future__ import annotations

import dataclasses

from kmenv.policy._engine import RulePolicy
from kmenv.policy.base import LicencePolicy, Verdict
from kmenv.values.handles import Handle

__all__ = ["AllowAll"]

_OPEN = RulePolicy(unknown="allow")


class AllowAll(LicencePolicy):
    """The policy of a project that declares none: every licence passes, unknown included.

    It has no exceptions and no per-id rules, so it keeps the protocol's no-op ``exceptions`` and ``decide``.
    """

    def evaluate(self, name: str, handle: Handle, license: str | None) -> Verdict:
        # The open rule engine still normalises and categorises, so reports show what each licence is.
        verdict = _OPEN.evaluate(name, handle, license)
        return dataclasses.replace(verdict, rule="policy", reason="no licence policy declared", warning=None)

    def fingerprint(self) -> dict[str, object]:
        return {}
