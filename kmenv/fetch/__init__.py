"""Verified downloads into the store: HTTP session, retries and resume, progress events (edge layer, does I/O).

The names below load on first use, so the registry protocol can import :mod:`kmenv.fetch.source`
without pulling in an HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kmenv.fetch._batch import FetchJob, FetchReport, fetch_all
    from kmenv.fetch.http import make_session, redact_url
    from kmenv.fetch.pool import map_interruptible
    from kmenv.fetch.progress import NullProgress, ProgressSink
    from kmenv.fetch.retry import RetryPolicy
    from kmenv.fetch.source import FileSource
    from kmenv.fetch.unhashed import fetch_unknown

__all__ = [
    "FetchJob",
    "FetchReport",
    "FileSource",
    "NullProgress",
    "ProgressSink",
    "RetryPolicy",
    "fetch_all",
    "fetch_unknown",
    "make_session",
    "map_interruptible",
    "redact_url",
]

_LAZY = {
    "FetchJob": "kmenv.fetch._batch",
    "FetchReport": "kmenv.fetch._batch",
    "fetch_all": "kmenv.fetch._batch",
    "make_session": "kmenv.fetch.http",
    "redact_url": "kmenv.fetch.http",
    "map_interruptible": "kmenv.fetch.pool",
    "NullProgress": "kmenv.fetch.progress",
    "ProgressSink": "kmenv.fetch.progress",
    "RetryPolicy": "kmenv.fetch.retry",
    "FileSource": "kmenv.fetch.source",
    "fetch_unknown": "kmenv.fetch.unhashed",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kmenv.fetch' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
