"""``kmenv search``: models across the registries asked, filtered by framework, licence and tag.

Each registry matches the text and owner itself (Kaggle server-side, a static registry over its
documents) and returns pages in its own order; pages are followed only until ``limit`` models pass
the filters applied here, so a search of Kaggle costs as few requests as the answer needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kmenv.actions.discovery.handles import framework_rank
from kmenv.errors import UsageError
from kmenv.policy.names import normalise_licence
from kmenv.values.discovery import ModelQuery, ModelSummary
from kmenv.values.handles import FRAMEWORKS, normalise_framework
from kmenv.values.times import utc_timestamp

if TYPE_CHECKING:
    from kmenv.registry.base import Registry

__all__ = ["SORTS", "SORT_ALIASES", "SearchResult", "search_models"]

#: ``--sort`` choices; a registry without popularity figures orders the first four by handle.
SORTS = ("hotness", "downloads", "votes", "notebooks", "created", "published", "updated")
#: The kaggle CLI's ``models list --sort-by`` spellings, accepted as they are.
SORT_ALIASES = {
    "downloadCount": "downloads",
    "voteCount": "votes",
    "notebookCount": "notebooks",
    "createTime": "created",
}
_PAGE = 50


@dataclass(frozen=True)
class SearchResult:
    """The models found (registry by registry, each in its order), the totals reported, and whether more remain."""

    models: tuple[ModelSummary, ...]
    total: int | None
    more: bool

    def as_dict(self) -> dict[str, Any]:
        return {"models": [model_row(m) for m in self.models], "total": self.total, "more": self.more}


def model_row(model: ModelSummary) -> dict[str, Any]:
    """One search result as ``--json`` gives it."""
    return {
        "handle": model.ref,
        "registry": model.registry,
        "title": model.title,
        "frameworks": sorted({i.handle.framework or "" for i in model.instances}, key=framework_rank),
        "licenses": sorted({i.license for i in model.instances if i.license}),
        "votes": model.votes,
        "updated": utc_timestamp(model.updated),
        "tags": list(model.tags),
    }


def _keeps(model: ModelSummary, framework: str | None, licence: str | None, tag: str | None) -> bool:
    if framework and not any(i.handle.framework == framework for i in model.instances):
        return False
    if licence:
        wanted = licence.strip().lower()
        spdx = normalise_licence(licence)
        if not any(
            i.license and (wanted in i.license.lower() or (spdx and normalise_licence(i.license) == spdx))
            for i in model.instances
        ):
            return False
    return not tag or any(t.lower() == tag.strip().lower() for t in model.tags)


def search_models(
    registries: Sequence[Registry],
    query: str | None = None,
    *,
    owner: str | None = None,
    framework: str | None = None,
    licence: str | None = None,
    tag: str | None = None,
    sort: str = "hotness",
    limit: int | None = 20,
) -> SearchResult:
    """Every registry's pages followed until ``limit`` models pass the filters (``None``: all), in registry order."""
    sort = SORT_ALIASES.get(sort, sort)
    if sort not in SORTS:
        raise UsageError(f"unknown sort {sort!r}", hint=f"use one of {', '.join(SORTS)}")
    wanted_fw = None
    if framework:
        wanted_fw = normalise_framework(framework)
        if wanted_fw is None:
            raise UsageError(f"unknown framework {framework!r}", hint=f"frameworks are: {', '.join(FRAMEWORKS)}")
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, not {limit}", hint="or use --all")
    filtering = bool(wanted_fw or licence or tag)
    size = _PAGE if filtering or limit is None else min(limit, _PAGE)
    request = ModelQuery(text=query or "", owner=owner or "", sort=sort, page_size=size)
    found: list[ModelSummary] = []
    totals: list[int | None] = []
    more = False
    for registry in registries:
        if limit is not None and len(found) >= limit:
            more = True  # the registries not asked may hold more
            break
        total: int | None = None
        seen = 0
        for page in registry.search_models(request):
            if page.total is not None:  # a later page may count more (models matched locally, after Kaggle's)
                total = page.total if total is None else max(total, page.total)
            for model in page.models:
                seen += 1
                if _keeps(model, wanted_fw, licence, tag):
                    if limit is not None and len(found) >= limit:
                        more = True
                        break
                    found.append(model)
            if limit is not None and (more or len(found) >= limit):
                more = more or total is None or total > seen
                break
        totals.append(total)
        if more:
            break
    known = None if any(t is None for t in totals) else sum(t for t in totals if t is not None)
    return SearchResult(tuple(found), known, more)
