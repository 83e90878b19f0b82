"""The one HTTP session factory (downloads, Kaggle API, static registries); redirects that keep credentials home.

Redirects are followed here rather than by requests: requests strips only ``Authorization``
when the host changes, but a :class:`~kmenv.fetch.source.FileSource` may carry any header as a
credential, and a Kaggle download answers with a redirect to a signed storage URL elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from kmenv._version import __version__
from kmenv.errors import RegistryError
from kmenv.fetch.source import FileSource

__all__ = ["MAX_REDIRECTS", "TIMEOUT", "make_session", "open_stream", "redact_url", "same_origin"]

#: Seconds to connect, and to wait for each read, on every request.
TIMEOUT = (10.0, 60.0)
MAX_REDIRECTS = 10
_DEFAULT_PORTS = {"http": 80, "https": 443}


def make_session(pool_size: int) -> requests.Session:
    """A session whose connection pool fits ``pool_size`` parallel requests, so connections are reused.

    Every HTTP caller in kmenv gets its session here, so they all identify as ``kmenv/<version>``.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=max(pool_size, 1), pool_maxsize=max(pool_size, 1))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"kmenv/{__version__}"
    return session


def redact_url(url: str) -> str:
    """``url`` without user info, query or fragment: signed URLs carry their secrets there."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def same_origin(a: str, b: str) -> bool:
    """True when both URLs have the same scheme, host and port."""
    return _origin(a) == _origin(b)


def open_stream(
    session: requests.Session, source: FileSource, headers: Mapping[str, str], *, label: str
) -> requests.Response:
    """Send ``source``'s request with ``headers`` and follow redirects; the final response, body unread.

    ``source.headers`` go only to ``source.url``'s origin. A 301/302 to a POST becomes a GET
    without body (what browsers and Kaggle's own clients do); 303 always does; 307/308 repeat
    the request as it was. requests exceptions propagate for the caller to classify.
    """
    method, url, body = source.method.upper(), source.url, source.json
    for _ in range(MAX_REDIRECTS + 1):
        sent = dict(headers)
        if same_origin(url, source.url):
            sent.update(source.headers)
        response = session.request(
            method,
            url,
            headers=sent,
            json=dict(body) if body is not None else None,
            stream=True,
            timeout=TIMEOUT,
            allow_redirects=False,
            verify=source.verify if same_origin(url, source.url) else True,
        )
        location = response.headers.get("Location")
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            return response
        response.close()
        url = urljoin(url, location)
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, body = "GET", None
    raise RegistryError(
        f"{label}: {redact_url(source.url)} redirected more than {MAX_REDIRECTS} times",
        hint="the server is misconfigured; try again later or report it to the registry",
    )
