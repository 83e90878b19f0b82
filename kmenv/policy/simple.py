"""The policy of a project without one, and the older name of the rule engine."""

from __future__ import annotations

from kmenv.handles import Handle
from kmenv.policy.base import Verdict
from kmenv.policy.engine import PolicyException, RulePolicy
from kmenv.policy.names import normalise_licence

__all__ = ["AllowAll", "ListPolicy", "PolicyException"]

#: The plain allow/deny/exceptions policy is the rule engine with only those settings.
ListPolicy = RulePolicy


class AllowAll:
    """The policy of a project that declares none: every licence passes, unknown included."""

    def evaluate(self, name: str, handle: Handle, license: str | None) -> Verdict:
        spdx = normalise_licence(license)
        return Verdict(True, spdx, "policy", "no licence policy declared", expression=spdx)

    def fingerprint(self) -> dict[str, object]:
        return {}
