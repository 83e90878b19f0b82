"""Where a static registry is: a folder path, ``file://`` or ``http(s)://`` URL turned into one root URL.

Pure string and path handling (no reads): the root always ends in ``/`` and never carries
credentials; credentials in an HTTP URL's user part are returned apart, for Basic auth to that
host only. Also how a document's place is shown in messages, and how a failed read is worded.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import requests

from kmenv.errors import UsageError
from kmenv.values.urls import without_userinfo

__all__ = ["INDEX", "describe_failure", "local_path", "locate", "scheme", "shown"]

INDEX = "index.json"
_HTTP = ("http", "https")


def locate(name: str, location: str, base_dir: Path | None) -> tuple[str, tuple[str, str] | None]:
    """The registry's root URL (ending in ``/``, no credentials) and any credentials it carried."""
    parts = urlsplit(location)
    kind = parts.scheme.lower()
    if kind in _HTTP:
        if not parts.hostname:
            raise UsageError(
                f"registry {name!r}: url {without_userinfo(location)!r} has no host", hint="write https://host/path/"
            )
        if parts.query or parts.fragment:
            raise UsageError(
                f"registry {name!r}: a static registry url cannot carry '?' or '#'",
                hint="serve the registry folder at a plain URL",
            )
        auth = None
        if parts.username is not None:
            auth = (unquote(parts.username), unquote(parts.password or ""))
        host = parts.netloc.rpartition("@")[2]
        return f"{kind}://{host}{_folder(parts.path)}", auth
    if kind == "file":
        if parts.netloc not in ("", "localhost"):
            raise UsageError(
                f"registry {name!r}: file url {without_userinfo(location)!r} names a remote host",
                hint="write file:///absolute/path or a plain path",
            )
        path = Path(url2pathname(parts.path))
    elif kind and len(kind) > 1:
        raise UsageError(
            f"registry {name!r}: url scheme {parts.scheme!r} is not supported",
            hint="a static registry is a folder path, a file:// URL or an http(s):// URL",
        )
    else:
        path = Path(os.path.expanduser(location))
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    path = Path(os.path.abspath(path))
    if path.name == INDEX:
        path = path.parent
    uri = path.as_uri()
    return (uri if uri.endswith("/") else uri + "/"), None


def _folder(path: str) -> str:
    if path.endswith("/" + INDEX):
        return path[: -len(INDEX)]
    return path if path.endswith("/") else path + "/"


def scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def local_path(url: str) -> Path:
    return Path(url2pathname(urlsplit(url).path))


def shown(url: str) -> str:
    """How a document's place reads in messages: a plain path for local files, else the URL."""
    return str(local_path(url)) if scheme(url) == "file" else url


def describe_failure(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke mid-answer"
    return f"could not connect ({type(exc).__name__})"
