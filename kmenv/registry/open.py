"""Turn a project's registry declarations into Registry objects."""

from __future__ import annotations

from pathlib import Path

from kmenv.config import Settings
from kmenv.errors import RegistryError
from kmenv.registry.base import Registry
from kmenv.registry.warn import Warn, warn_once_to_stderr
from kmenv.store.blobstore import Store

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
) -> Registry:
    """A registry for one declaration; ``base_dir`` anchors relative static-registry paths.

    ``store`` is the run's store, where a Kaggle registry learns the sha256 of what it fetches.

    ``warn`` receives the registry's warnings (see :mod:`kmenv.registry.warn`; stderr once by default).
    """
    if kind == "static":
        from kmenv.registry.static.registry import StaticRegistry

        if not url:
            raise RegistryError(f"registry {name!r} has no url", hint=f"set registries.{name}.url in kmodels.yaml")
        if settings.offline and url.lower().startswith(("http://", "https://")):
            raise RegistryError(
                f"offline: registry {name!r} is at {url.split('?', 1)[0]}, which needs the network",
                hint="drop --offline / KMENV_OFFLINE, or use a local copy of the registry",
            )
        return StaticRegistry(name, url, base_dir=base_dir)
    if kind == "kaggle":
        from kmenv.registry.kaggle import open_kaggle

        return open_kaggle(name, url, settings=settings, store=store, warn=warn)
    if kind == "oci":
        from kmenv.registry.oci import open_oci

        if not url:
            raise RegistryError(
                f"registry {name!r} has no url", hint=f"set registries.{name}.url: oci://HOST/NAMESPACE"
            )
        return open_oci(name, url, settings=settings, warn=warn)
    raise RegistryError(f"registry {name!r} has unknown type {kind!r}", hint="use type: kaggle, static or oci")
