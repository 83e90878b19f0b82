"""Turn a project's registry declarations into Registry objects."""

from __future__ import annotations

from pathlib import Path

from kmenv.config import Settings, registry_token
from kmenv.errors import RegistryError
from kmenv.registry.base import Registry
from kmenv.registry.frameworks import load_framework_table
from kmenv.registry.warn import Warn, warn_once_to_stderr
from kmenv.store.blobstore import Store
from kmenv.values.urls import without_userinfo

__all__ = ["open_registry"]


def open_registry(
    name: str,
    kind: str,
    url: str | None,
    *,
    base_dir: Path,
    settings: Settings,
    store: Store,
    warn: Warn = warn_once_to_stderr,
    refresh: bool = False,
) -> Registry:
    """A registry for one declaration; ``base_dir`` anchors relative static-registry paths.

    ``store`` is the run's store, where a Kaggle registry learns the sha256 of what it fetches (and an OCI
    registry unpacks tar layers).

    ``warn`` receives the registry's warnings (see :mod:`kmenv.registry.warn`; stderr once by default).
    ``refresh``: ask upstream now rather than answer from a metadata cache that is still fresh (Kaggle).
    """
    if kind == "static":
        from kmenv.registry.static.registry import StaticRegistry

        if not url:
            raise RegistryError(f"registry {name!r} has no url", hint=f"set registries.{name}.url in kmodels.yaml")
        if settings.offline and url.lower().startswith(("http://", "https://")):
            raise RegistryError(
                f"offline: registry {name!r} is at {without_userinfo(url).split('?', 1)[0]}, which needs the network",
                hint="drop --offline / KMENV_OFFLINE, or use a local copy of the registry",
            )
        return StaticRegistry(
            name,
            url,
            base_dir=base_dir,
            frameworks=load_framework_table(settings.config_dir),
            token=registry_token(name),
        )
    if kind == "kaggle":
        from kmenv.registry.kaggle import open_kaggle

        return open_kaggle(name, url, settings=settings, store=store, warn=warn, refresh=refresh)
    if kind == "oci":
        from kmenv.registry.oci import open_oci

        if not url:
            raise RegistryError(
                f"registry {name!r} has no url", hint=f"set registries.{name}.url: oci://HOST/NAMESPACE"
            )
        return open_oci(name, url, settings=settings, warn=warn, store=store)
    raise RegistryError(f"registry {name!r} has unknown type {kind!r}", hint="use type: kaggle, static or oci")
