"""The Kaggle Models API registry (``type: kaggle``, the default): client, auth, mapping, cache, registry."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from kmenv.registry.kaggle.registry import KaggleRegistry

if TYPE_CHECKING:
    from kmenv.config import Settings

__all__ = ["KaggleRegistry", "open_kaggle"]

_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Credential-file warnings go to stderr once per run (they name a path, never a secret)."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)


def open_kaggle(name: str, url: str | None, *, settings: Settings, refresh: bool = False) -> KaggleRegistry:
    """The Kaggle registry for a run: API base from ``url``/``KMENV_KAGGLE_URL``/``KAGGLE_API_ENVIRONMENT``,
    metadata cache under ``<cache>/http/``, files learned into the store under ``<cache>``."""
    from kmenv.registry.kaggle.cache import MetadataCache
    from kmenv.registry.kaggle.client import KaggleClient, resolve_base_url
    from kmenv.registry.kaggle.mapping import load_framework_table
    from kmenv.store.blobstore import Store

    base = resolve_base_url(url)
    cache = MetadataCache(settings.cache_dir / "http", base, offline=settings.offline, refresh=refresh)
    client = KaggleClient(base, cache=cache, warn=_warn_once)
    return KaggleRegistry(
        name,
        client,
        store=Store(settings.cache_dir),
        frameworks=load_framework_table(settings.config_dir),
        workers=settings.max_workers,
    )
