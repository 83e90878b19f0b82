"""The one rule for showing and storing a URL the user wrote: never with the login it may carry.

``https://user:pass@host/path`` is how many tools accept a login, so kmodels.yaml may hold one. Every
place a registry URL leaves kmenv (messages, kmodels.lock, the CycloneDX export, tracebacks under
``-v``) goes through :func:`without_userinfo`; the login itself is handed to the registry alone, for
its own host (see the README's "Registry credentials").
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["has_userinfo", "without_userinfo"]


def has_userinfo(url: str) -> bool:
    """True when ``url`` is a URL with a ``user[:password]@`` part before its host."""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def without_userinfo(url: str) -> str:
    """``url`` with any ``user[:password]@`` dropped from its host part; anything else (a path) unchanged.

    A string that does not even parse as a URL loses everything up to its last ``@`` before the first
    ``/`` after the scheme, so a malformed URL cannot smuggle a password into a message either.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme, sep, rest = url.partition("://")
        if not sep:
            return url
        host, slash, path = rest.partition("/")
        return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
