"""Where an OCI registry is and how kmenv names things in it: URL forms, repositories, tags. No I/O.

``oci://HOST[:PORT]/NAMESPACE`` speaks HTTPS, ``oci+http://`` plain HTTP (loopback, labs). A model
instance ``owner/model/framework/variation`` is the repository ``NAMESPACE/owner/model/framework/variation``
in lower case (repository names may hold no capitals); a version is the tag ``"3"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from kmenv.errors import HandleError, UsageError
from kmenv.values.handles import Handle

__all__ = ["OCI_SCHEMES", "OciLocation", "handle_of", "is_oci_url", "parse_oci_url", "version_of_tag"]

#: URL scheme → the HTTP scheme it speaks.
OCI_SCHEMES = {"oci": "https", "oci+https": "https", "oci+http": "http"}
#: One path component of a repository name (the distribution spec's rule).
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$")
_VERSION_TAG = re.compile(r"^[1-9][0-9]{0,8}$")
_FORMS = "oci://HOST[:PORT]/NAMESPACE (HTTPS) or oci+http://HOST[:PORT]/NAMESPACE (plain HTTP)"


def is_oci_url(url: str) -> bool:
    """Whether ``url`` names an OCI registry (``oci://``, ``oci+https://`` or ``oci+http://``)."""
    return url.split("://", 1)[0].lower() in OCI_SCHEMES if "://" in url else False


@dataclass(frozen=True)
class OciLocation:
    """A registry host and the namespace kmenv's repositories live under.

    ``scheme`` is ``http`` or ``https``; ``host`` includes any port (``127.0.0.1:5000``), as
    credential files key it; ``namespace`` may be empty (repositories at the registry's root).
    """

    scheme: str
    host: str
    namespace: str

    @property
    def base(self) -> str:
        """The registry's API root, ``https://host:port``."""
        return f"{self.scheme}://{self.host}"

    @property
    def url(self) -> str:
        """The location as a user writes it."""
        prefix = "oci" if self.scheme == "https" else "oci+http"
        return f"{prefix}://{self.host}/{self.namespace}".rstrip("/")

    def repository(self, instance: Handle) -> str:
        """The repository that holds ``instance``'s versions; ``UsageError`` when a part cannot be one."""
        if instance.framework is None or instance.variation is None:
            raise UsageError(
                f"{instance}: an OCI registry stores full instances only",
                hint="name owner/model/framework/variation",
            )
        parts = [instance.owner, instance.model, instance.framework, instance.variation]
        for part in parts:
            if not _COMPONENT.match(part.lower()):
                raise UsageError(
                    f"{instance}: {part!r} cannot be part of an OCI repository name",
                    hint="repository names are lower-case letters and digits joined by '.', '_', '__' or '-'",
                )
        return "/".join([self.namespace, *(p.lower() for p in parts)] if self.namespace else [p.lower() for p in parts])

    def blob_url(self, repository: str, sha256: str) -> str:
        """Where a blob of ``repository`` is read (no credentials in it)."""
        return f"{self.base}/v2/{repository}/blobs/sha256:{sha256}"


def handle_of(location: OciLocation, repository: str) -> Handle | None:
    """The instance ``repository`` holds, or None when it is not one of kmenv's (outside the namespace, other depth)."""
    prefix = location.namespace + "/" if location.namespace else ""
    if not repository.startswith(prefix):
        return None
    parts = repository[len(prefix) :].split("/")
    if len(parts) != 4:
        return None
    try:
        handle = Handle.parse("/".join(parts))
    except HandleError:
        return None
    return None if handle.is_partial else handle


def version_of_tag(tag: str) -> int | None:
    """The version a tag names (``"3"`` → 3); None for other tags (``latest``), which kmenv ignores."""
    return int(tag) if _VERSION_TAG.match(tag) else None


def parse_oci_url(name: str, url: str) -> OciLocation:
    """Parse a registry ``url`` of kmodels.yaml; ``UsageError`` naming the registry when it is malformed."""
    scheme, sep, _ = url.partition("://")
    http = OCI_SCHEMES.get(scheme.lower()) if sep else None
    if http is None:
        raise UsageError(f"registry {name!r}: {url!r} is not an OCI registry URL", hint=f"write {_FORMS}")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"registry {name!r}: the URL holds credentials",
            hint="remove them from kmodels.yaml and log in with `docker login` or `podman login` instead",
        )
    if parts.query or parts.fragment:
        raise UsageError(f"registry {name!r}: {url!r} has a query or fragment", hint=f"write {_FORMS}")
    host = parts.netloc.lower()
    if not host or not _HOST.match(host):
        raise UsageError(f"registry {name!r}: {url!r} names no valid host", hint=f"write {_FORMS}")
    namespace = parts.path.strip("/")
    for component in namespace.split("/") if namespace else []:
        if not _COMPONENT.match(component):
            raise UsageError(
                f"registry {name!r}: namespace {namespace!r} is not a valid repository path",
                hint="use lower-case letters and digits joined by '.', '_' or '-', with '/' between parts",
            )
    return OciLocation(http, host, namespace)
