"""The Kaggle Models API registry (``type: kaggle``, the default): client, auth, mapping, cache, registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmenv.registry.kaggle.registry import KaggleRegistry
from kmenv.registry.warn import Warn, warn_once_to_stderr

if TYPE_CHECKING:
    from kmenv.config import Settings
    from kmenv.store.blobstore import Store

__all__ = ["KaggleRegistry", "open_kaggle"]


def open_kaggle(
    name: str,
    url: str | None,
    *,
    settings: Settings,
    store: Store,
    refresh: bool = False,
    warn: Warn = warn_once_to_stderr,
) -> KaggleRegistry:
    """The Kaggle registry for a run: API base from ``url``/``KMENV_KAGGLE_URL``/``KAGGLE_API_ENVIRONMENT``,
    metadata cache under ``<cache>/http/``, files learned into the run's ``store``.

    ``warn`` receives credential-file warnings (they name a path, never a secret); by default
    they go to stderr once per run.
    """
    from kmenv.registry.frameworks import load_framework_table
    from kmenv.registry.kaggle.cache import MetadataCache
    from kmenv.registry.kaggle.client import KaggleClient, resolve_base_url

    base = resolve_base_url(url)
    cache = MetadataCache(settings.cache_dir / "http", base, offline=settings.offline, refresh=refresh)
    client = KaggleClient(base, cache=cache, warn=warn)
    return KaggleRegistry(
        name,
        client,
        store=store,
        frameworks=load_framework_table(settings.config_dir),
        workers=settings.max_workers,
    )
