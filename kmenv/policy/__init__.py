"""Licence policy: decides whether a model version's licence is acceptable.

The resolver sees only :class:`LicencePolicy`; :class:`ListPolicy` is the plain allow/deny
implementation (SPDX ids, with Kaggle's display names normalised by :mod:`kmenv.policy.names`).
Pure: no I/O.
"""

from __future__ import annotations

from kmenv.policy.base import LicencePolicy, Verdict
from kmenv.policy.simple import AllowAll, ListPolicy, PolicyException

__all__ = ["AllowAll", "LicencePolicy", "ListPolicy", "PolicyException", "Verdict"]
