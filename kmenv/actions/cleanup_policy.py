"""How much an install keeps, and what its cleanup removed: the part of cleaning up every install needs.

:mod:`kmenv.actions.gc` does the cleanup itself (a scan of the whole cache, a plan, deletions), which costs an
install with nothing to clean more than the install. :func:`cleanup_needed` says when there can be nothing: no
size budget, and no more generations than are kept. Kept apart so that a warm install can ask it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmenv.config import DEFAULT_KEEP_GENERATIONS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the warm install imports this)
if TYPE_CHECKING:
    from kmenv.config import Settings
    from kmenv.spec.document import CleanupSpec

__all__ = ["Cleanup", "CleanupPolicy", "cleanup_needed", "cleanup_policy"]


@dataclass(frozen=True)
class CleanupPolicy:
    """How much an install keeps: ``keep`` generations (the one in use among them) and at most ``cache_max`` bytes
    of blobs (None: no budget). ``keep_from``/``cache_max_from`` say which setting decided, for messages."""

    keep: int
    cache_max: int | None
    keep_from: str = "default"
    cache_max_from: str | None = None


def cleanup_policy(settings: Settings, cleanup: CleanupSpec | None) -> CleanupPolicy:
    """``KMENV_KEEP_GENERATIONS``/``KMENV_CACHE_MAX`` first, then the project's ``cleanup:``, then the defaults."""
    from kmenv.values.sizes import parse_size

    keep, keep_from = DEFAULT_KEEP_GENERATIONS, "default"
    if settings.keep_generations is not None:
        keep, keep_from = settings.keep_generations, "KMENV_KEEP_GENERATIONS"
    elif cleanup is not None and cleanup.keep_generations is not None:
        keep, keep_from = cleanup.keep_generations, "cleanup.keep-generations"
    budget, budget_from = None, None
    if settings.cache_max is not None:
        budget, budget_from = settings.cache_max, "KMENV_CACHE_MAX"
    elif cleanup is not None and cleanup.cache_max is not None:
        budget, budget_from = parse_size(cleanup.cache_max), "cleanup.cache-max"
    return CleanupPolicy(keep, budget, keep_from, budget_from)


@dataclass(frozen=True)
class Cleanup:
    """What the cleanup after an install removed: old ``generations`` and ``blobs`` (``blob_bytes`` of them)."""

    generations: int
    blobs: int
    blob_bytes: int
    warnings: tuple[str, ...] = ()

    @property
    def summary(self) -> str | None:
        """``Removed 2 old generations and 1.2 GiB of cached blobs``, or None when nothing went."""
        from kmenv.values.wording import counted

        parts = []
        if self.generations:
            parts.append(counted(self.generations, "old generation"))
        if self.blobs:
            from kmenv.values.candidates import format_size

            parts.append(f"{format_size(self.blob_bytes)} of cached blobs")
        return f"Removed {' and '.join(parts)}" if parts else None


def cleanup_needed(policy: CleanupPolicy, generations: int) -> bool:
    """False when a cleanup under ``policy`` of an environment holding ``generations`` cannot remove anything.

    Without a budget no blob goes (unused ones stay as a cache), and an environment holding no more than
    ``keep`` generations keeps them all; so the scan of the whole cache would be wasted.
    """
    return policy.cache_max is not None or generations > policy.keep
