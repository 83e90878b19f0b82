"""A Kaggle 404 explained: which part of the handle does not exist, and what the owner publishes that is close.

Kaggle answers a mistyped owner, model, instance or version with the same bare 404. This asks one level
up (the model's instances, the owner's models, the instance's versions) and suggests the nearest names
(:mod:`difflib`), as ``git`` does for a mistyped command. Only on the error path, so the extra requests
cost nothing when the handle is right; if asking fails, the original error stands.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from kmenv.errors import KmenvError, ModelNotFoundError
from kmenv.registry.kaggle.mapping import InstanceInfo, ModelInfo
from kmenv.values.handles import Handle


class KaggleRegistry(Protocol):
    """The queries of :class:`~kmenv.registry.kaggle.registry.KaggleRegistry` asked here (it imports this module)."""

    def search(self, body: Mapping[str, object]) -> Iterator[tuple[list[ModelInfo], int | None]]: ...

    def model_instances(self, owner: str, model: str) -> list[InstanceInfo]: ...

    def version_numbers(self, handle: Handle) -> tuple[list[int], str | None]: ...


__all__ = ["did_you_mean", "explain_missing_instance", "explain_missing_version"]

#: How many owner models one search page brings back to compare against.
_SEARCH_PAGE = 50


def did_you_mean(wanted: str, choices: Iterable[str], *, cutoff: float = 0.6) -> list[str]:
    """The closest of ``choices`` to ``wanted`` (at most three, best first; case-insensitive)."""
    by_lower = {c.lower(): c for c in choices}
    return [by_lower[m] for m in difflib.get_close_matches(wanted.lower(), list(by_lower), n=3, cutoff=cutoff)]


def _hint(found: Sequence[str], listing: str) -> str:
    close = " or ".join(found)
    return (f"did you mean {close}? " if found else "") + listing


def _models_like(registry: KaggleRegistry, owner: str, model: str) -> list[str]:
    """``owner/model`` refs Kaggle publishes under ``owner``, and by anyone under names like ``model``."""
    refs: list[str] = []
    for body in ({"owner": owner, "pageSize": _SEARCH_PAGE}, {"search": model, "pageSize": _SEARCH_PAGE}):
        for models, _total in registry.search(body):
            refs.extend(f"{m.owner}/{m.slug}" for m in models)
            break  # one page is enough to suggest from
    return list(dict.fromkeys(refs))


def explain_missing_instance(registry: KaggleRegistry, handle: Handle, error: ModelNotFoundError) -> KmenvError:
    """Why ``handle`` (unversioned) is not on Kaggle: no such model, or the model lacks that instance."""
    try:
        instances = [str(i.handle) for i in registry.model_instances(handle.owner, handle.model)]
    except ModelNotFoundError:
        instances = None
    except KmenvError:
        return error
    if instances is not None:
        shown = ", ".join(instances[:8]) + (", …" if len(instances) > 8 else "") or "none"
        return ModelNotFoundError(
            f"Kaggle model {handle.owner}/{handle.model} has no instance {handle.framework}/{handle.variation}",
            hint=_hint(did_you_mean(str(handle), instances), f"its instances: {shown}"),
        )
    try:
        refs = _models_like(registry, handle.owner, handle.model)
    except KmenvError:
        return error
    found = did_you_mean(f"{handle.owner}/{handle.model}", refs)
    tail = "/".join(str(p) for p in (handle.framework, handle.variation) if p)
    suggestions = [f"{ref}/{tail}" if tail else ref for ref in found]
    return ModelNotFoundError(
        f"Kaggle has no model {handle.owner}/{handle.model}",
        hint=_hint(suggestions, f"look it up with `kmenv search {handle.model}`"),
    )


def explain_missing_version(registry: KaggleRegistry, handle: Handle, error: ModelNotFoundError) -> KmenvError:
    """Why version ``handle.version`` is not on Kaggle: the instance lacks it (or the instance does not exist)."""
    try:
        numbers, _title = registry.version_numbers(handle.unversioned())
    except ModelNotFoundError as missing:
        return missing  # already explained by instance_info
    except KmenvError:
        return error
    listing = ", ".join(map(str, sorted(numbers))) or "none"
    return ModelNotFoundError(
        f"Kaggle model instance {handle.unversioned()} has no version {handle.version}",
        hint=f"its versions: {listing}; the latest is used when no version is given",
    )
