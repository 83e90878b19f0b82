"""Which login a static registry sends, and only to its own host.

Three sources, the first found wins: ``KMENV_REGISTRY_<NAME>_TOKEN`` (a bearer token, from
:func:`kmenv.config.registry_token`), a ``user:password@`` in the URL as written in kmodels.yaml
(accepted, never stored or shown), then ``~/.netrc``, which requests reads by itself for each host it
talks to when no login is given. A login goes only to the registry's own scheme, host and port: a file
URL on another host (a CDN, object storage) gets none, and requests drops it on a redirect elsewhere.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

__all__ = ["Login"]


class _Bearer(AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:  # never the token, should it ever be printed
        return "_Bearer(***)"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


@dataclass(frozen=True, repr=False)
class Login:
    """The login for the registry at ``root`` (None of either: requests falls back to ``~/.netrc``)."""

    root: str
    token: str | None = None
    basic: tuple[str, str] | None = None

    def __repr__(self) -> str:
        kind = "token" if self.token else "basic" if self.basic else "netrc or none"
        return f"Login({kind})"

    def auth(self, url: str | None = None) -> AuthBase | None:
        """What to hand requests for a read of a document at ``url`` (None: the root): nothing off the origin."""
        if url is not None and _origin(url) != _origin(self.root):
            return None
        if self.token:
            return _Bearer(self.token)
        if self.basic:
            return HTTPBasicAuth(*self.basic)
        return None

    def headers(self, url: str) -> dict[str, str]:
        """The ``Authorization`` header for a file at ``url``: empty unless it is on the registry's origin."""
        if _origin(url) != _origin(self.root):
            return {}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.basic:
            pair = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode("ascii")
            return {"Authorization": f"Basic {pair}"}
        return {}
