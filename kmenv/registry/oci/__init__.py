"""OCI registries holding CNCF ModelPack artifacts (``oci://``): reading them as a registry, and pushing to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmenv.registry.warn import Warn, warn_once_to_stderr

if TYPE_CHECKING:
    from kmenv.config import Settings
    from kmenv.registry.oci.client import OciClient
    from kmenv.registry.oci.registry import OciRegistry
    from kmenv.store.blobstore import Store

__all__ = ["open_client", "open_oci"]


def open_client(
    name: str, url: str, *, settings: Settings, warn: Warn = warn_once_to_stderr, pool_size: int = 8
) -> OciClient:
    """A client for the registry at ``url``: the user's logins (container tools' files), its host's trusted CAs.

    ``pool_size`` is how many connections it keeps open for reuse: as many as requests run at once.
    """
    from kmenv.fetch.http import make_session
    from kmenv.registry.oci.client import OciClient
    from kmenv.registry.oci.credentials import find_login
    from kmenv.registry.oci.reference import parse_oci_url
    from kmenv.registry.oci.tls import trust_for

    location = parse_oci_url(name, url)
    verify = trust_for(location.host, settings.config_dir) if location.scheme == "https" else True
    return OciClient(
        name,
        location,
        login_for=lambda repository: find_login(location.host, repository, warn=warn),
        verify=verify,
        certs_dir=str(settings.config_dir / "certs.d"),
        session=make_session(pool_size),
    )


def open_oci(
    name: str, url: str, *, settings: Settings, warn: Warn = warn_once_to_stderr, store: Store | None = None
) -> OciRegistry:
    """The OCI registry a ``registries:`` entry names (no I/O until it is asked something).

    ``store`` is the run's store, where the registry unpacks the tar layers some artifacts have.
    """
    from kmenv.errors import RegistryError
    from kmenv.registry.oci.registry import OciRegistry

    if settings.offline:
        raise RegistryError(
            f"offline: registry {name!r} is at {url}, which needs the network",
            hint="drop --offline / KMENV_OFFLINE; installs from the lock reuse the cache without asking",
        )
    return OciRegistry(name, open_client(name, url, settings=settings, warn=warn), store=store)
