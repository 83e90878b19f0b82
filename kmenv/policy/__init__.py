"""Licence policy: normalises published licences and decides whether a model version's licence is acceptable.

The resolver sees only :class:`LicencePolicy`; :class:`RulePolicy` implements ``policy.licenses``
(allow/deny by id and category, unknown handling, exceptions, clarifications, aliases) over the
licence table in :mod:`kmenv.policy.table`. Pure: no I/O.
"""

from __future__ import annotations

from kmenv.policy._engine import RulePolicy
from kmenv.policy._entries import Clarification, PolicyException
from kmenv.policy._simple import AllowAll
from kmenv.policy.base import LeafDecision, LicencePolicy, Verdict

__all__ = [
    "AllowAll",
    "Clarification",
    "LeafDecision",
    "LicencePolicy",
    "PolicyException",
    "RulePolicy",
    "Verdict",
]
