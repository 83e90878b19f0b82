"""The unused blobs a store size budget (``KMENV_CACHE_MAX``, ``cleanup.cache-max``) evicts: least recently used.

Blobs no kept generation or download folder needs are a cache: a rollback in another project or the next upgrade
may want them back, so with a budget they stay until the store is over it. Then they go oldest use first, where a
blob's last use is the later of what the usage ledger says (an install or a ``kmenv.path()`` of a model whose files
it holds) and the last time it was written or linked, and only as many as bring the store under the budget. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

__all__ = ["BudgetBlob", "choose_evictions"]


class BudgetBlob(Protocol):
    """What the budget needs of a blob (:class:`~kmenv.store.gc_plan.BlobFile` is one)."""

    @property
    def sha256(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def changed(self) -> float: ...


B = TypeVar("B", bound=BudgetBlob)


def choose_evictions(
    total: int, unused: Sequence[B], last_use: Mapping[str, float], budget: int
) -> tuple[list[tuple[B, float]], int]:
    """The unused blobs to delete, least recently used first, with the last use of each, and the bytes left.

    ``total`` is what every blob in the store holds now; nothing goes when that fits ``budget``. When even deleting
    every unused blob leaves the store over the budget, all of them go and the bytes left say by how much.
    """
    if total <= budget:
        return [], total
    ranked = sorted(unused, key=lambda b: (max(b.changed, last_use.get(b.sha256, 0.0)), b.sha256))
    chosen: list[tuple[B, float]] = []
    left = total
    for blob in ranked:
        if left <= budget:
            break
        chosen.append((blob, max(blob.changed, last_use.get(blob.sha256, 0.0))))
        left -= blob.size
    return chosen, left
