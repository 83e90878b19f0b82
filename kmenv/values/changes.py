"""How a model's locked version moved: added, removed, upgraded or downgraded."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["VersionChange"]


class VersionChange(NamedTuple):
    """One model whose version differs between two locks.

    ``old`` is None when the model was added, ``new`` None when it was removed. A tuple, so
    ``for name, old, new in changes`` keeps reading naturally.
    """

    name: str
    old: int | None
    new: int | None
