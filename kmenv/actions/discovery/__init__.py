"""Discovery: what a user reads about models before depending on one, from any registry, from metadata alone.

``search`` (:mod:`.search`), ``show`` (:mod:`.card`), ``versions`` and ``versions --diff``
(:mod:`.versions`) and ``compare`` (:mod:`.compare`) ask the registries :mod:`.sources` opens: the
project's, the one ``--registry`` names, or Kaggle outside a project. Each registry answers through
the discovery methods of :class:`~kmenv.registry.base.Registry`, so answers are cached where the
registry caches (``--offline`` works on Kaggle after one online run, ``--refresh`` asks again).
No function here fetches a file's bytes; :mod:`kmenv.actions.download` does, reading handles and
naming folders as :mod:`.handles` does.
"""

from __future__ import annotations

from kmenv.actions.discovery.card import ModelCard, show_model
from kmenv.actions.discovery.compare import ComparedVersion, Comparison, compare_models
from kmenv.actions.discovery.handles import default_download_dir, fill_usage, full_handle
from kmenv.actions.discovery.search import SORTS, SearchResult, search_models
from kmenv.actions.discovery.sources import open_sources
from kmenv.actions.discovery.versions import (
    COMPARISONS,
    FileComparison,
    VersionDiff,
    VersionFiles,
    VersionList,
    compare_file,
    diff_versions,
    list_version_files,
    list_versions,
)

__all__ = [
    "COMPARISONS",
    "SORTS",
    "ComparedVersion",
    "Comparison",
    "FileComparison",
    "ModelCard",
    "SearchResult",
    "VersionDiff",
    "VersionFiles",
    "VersionList",
    "compare_file",
    "compare_models",
    "default_download_dir",
    "diff_versions",
    "fill_usage",
    "full_handle",
    "list_version_files",
    "list_versions",
    "open_sources",
    "search_models",
    "show_model",
]
