"""Licence display names → SPDX ids, backed by the licence table (:mod:`kmenv.policy.table`).

Kaggle publishes licences as display strings ("Apache 2.0", "Attribution 4.0 International
(CC BY 4.0)"); policies speak SPDX. Lookup is case- and whitespace-insensitive, and SPDX
expressions (``MIT OR Apache-2.0``) normalise too.
"""

from __future__ import annotations

from kmenv.policy.table import licence_table

__all__ = ["normalise_licence"]


def normalise_licence(published: str | None) -> str | None:
    """The normalised SPDX expression (ids may be ``LicenseRef-kmenv-…``) for a published string.

    ``None`` when nothing is published, the string does not parse, or any id in it is unknown.
    """
    return licence_table().normalise(published).spdx
