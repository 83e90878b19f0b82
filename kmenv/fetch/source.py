"""Where one file's bytes come from: the request a fetcher sends, credentials included.

It belongs to the fetch layer because only the fetcher acts on it (and decides which headers may
follow a redirect); registries build these and hand them over. Standard library only, so the
registry protocol and the resolver can name it without loading an HTTP client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["FileSource"]


@dataclass(frozen=True)
class FileSource:
    """How to fetch one file's bytes.

    ``url`` may be ``http(s)://`` or ``file://``. ``headers`` may carry credentials, so
    it is excluded from ``repr`` and must never be logged; a fetcher drops them when a
    redirect leaves ``url``'s host. ``json`` is a request body for RPC-style downloads
    (``method`` is then ``POST``). ``verify`` is how TLS is checked: True for the system's CAs, or
    the path of a CA bundle (a private registry's own CA). ``in_place`` marks a ``file://`` source that stays
    where it is while it is used (a notebook's read-only mount): the store verifies it and references it
    instead of copying it (:meth:`kmenv.store.blobstore.Store.adopt`).
    """

    url: str
    method: str = "GET"
    json: Mapping[str, object] | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    verify: bool | str = True
    in_place: bool = False
