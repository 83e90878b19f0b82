"""Authenticating to a registry as container tools do: anonymous first, then what its 401 challenge asks for.

``WWW-Authenticate: Bearer realm=…,service=…,scope=…`` sends the client to the token server for a
token covering the scope (with the user's login as Basic auth when there is one); ``Basic`` means
the login goes to the registry itself. Tokens are kept per scope until they expire. A login goes
only to the registry's own origin and to its token realm, and to the realm only over HTTPS (or, for
plain-HTTP labs, on the registry's own host), so a challenge cannot lure it elsewhere in clear text.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from kmenv.errors import NetworkError, RegistryError
from kmenv.fetch.http import redact_url
from kmenv.registry.oci.credentials import Login

__all__ = ["LOGIN_HINT", "Authorizer", "Challenge", "parse_challenge"]

LOGIN_HINT = (
    "log in with `docker login HOST` or `podman login HOST` (kmenv reads ~/.docker/config.json, "
    "$DOCKER_CONFIG, $REGISTRY_AUTH_FILE and podman's auth.json)"
)
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')
_MAX_TOKEN_ANSWER = 1 << 16
_DEFAULT_LIFETIME = 60.0


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header: ``scheme`` is ``bearer`` or ``basic``; ``params`` its key=value pairs."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """The first challenge of a ``WWW-Authenticate`` header, or None when it is neither Bearer nor Basic."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "basic"):
        return None
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None or match.end() == position:
            break
        value = match.group(2) if match.group(2) is not None else match.group(3) or ""
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        position = match.end()
    return Challenge(scheme.lower(), params)


def _basic(login: Login) -> str:
    return "Basic " + base64.b64encode(f"{login.username}:{login.password}".encode()).decode("ascii")


class Authorizer:
    """The ``Authorization`` header for each scope of one registry, learnt from its challenges.

    ``login_for(repository)`` finds the user's login (None: anonymous); it is asked at most once
    per repository. Thread-safe: the fetch pipeline's workers share one.
    """

    def __init__(
        self,
        registry: str,
        base: str,
        session: requests.Session,
        *,
        login_for: Callable[[str], Login | None],
        verify: bool | str,
        timeout: float,
    ) -> None:
        self._registry = registry
        self._base = base
        self._session = session
        self._login_for = login_for
        self._verify = verify
        self._timeout = timeout
        self._lock = threading.Lock()
        self._challenge: Challenge | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._logins: dict[str, Login | None] = {}

    def headers(self, scope: str) -> dict[str, str]:
        """What to send for ``scope`` now: nothing until the registry asked for something.

        Once a registry has asked for bearer tokens, a new scope (another repository) or an
        expired token gets a fresh token here, saving the round trip of another 401.
        """
        with self._lock:
            challenge = self._challenge
            if challenge is None:
                return {}
            if challenge.scheme == "basic":
                login = self._login(scope)
                return {"Authorization": _basic(login)} if login is not None else {}
            token = self._tokens.get(scope)
            if token is None or token[1] <= time.monotonic():
                realm = challenge.params.get("realm")
                if not realm:
                    return {}
                token = self._remember(scope, self._fetch_token(realm, challenge, scope))
            return {"Authorization": f"Bearer {token[0]}"}

    def answer(self, response: requests.Response, scope: str) -> bool:
        """Learn from a 401 and get what it asks for; False when nothing new can be tried."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None:
            return False
        with self._lock:
            self._challenge = challenge
            if challenge.scheme == "basic":
                return self._login(scope) is not None
            realm = challenge.params.get("realm")
            if not realm:
                return False
            self._remember(scope, self._fetch_token(realm, challenge, scope))
            return True

    def _remember(self, scope: str, token: tuple[str, float]) -> tuple[str, float]:
        """Keep a token until shortly before it expires; (token, monotonic deadline)."""
        kept = (token[0], time.monotonic() + max(token[1] - 5.0, 1.0))
        self._tokens[scope] = kept
        return kept

    def has_login(self, scope: str) -> bool:
        """Whether a login exists for ``scope``'s repository (for error messages: refused, or missing?)."""
        with self._lock:
            return self._login(scope) is not None

    def _login(self, scope: str) -> Login | None:
        first = scope.split(" ", 1)[0]  # a mount asks for two scopes; the login is the target's
        repository = first.split(":")[1] if first.count(":") >= 2 else ""
        if repository not in self._logins:
            self._logins[repository] = self._login_for(repository)
        return self._logins[repository]

    def _fetch_token(self, realm: str, challenge: Challenge, scope: str) -> tuple[str, float]:
        scopes = scope.split(" ")
        asked = challenge.params.get("scope")
        if asked and asked not in scopes and asked.split(":")[:2] == scopes[0].split(":")[:2]:
            scopes.append(asked)
        params: list[tuple[str, str]] = [("scope", s) for s in scopes]
        if "service" in challenge.params:
            params.insert(0, ("service", challenge.params["service"]))
        login = self._login(scope)
        headers = {}
        if login is not None and self._may_receive_login(realm):
            headers["Authorization"] = _basic(login)
        shown = redact_url(realm)
        try:
            response = self._session.get(
                realm, params=params, headers=headers, timeout=self._timeout, verify=self._verify, stream=True
            )
        except requests.RequestException as exc:
            raise NetworkError(
                f"registry {self._registry!r}: its token server {shown} did not answer ({type(exc).__name__})",
                hint="check the network; the registry sends clients there to log in",
            ) from None
        with response:
            if response.status_code in (401, 403):
                raise RegistryError(
                    f"registry {self._registry!r}: the token server {shown} refused "
                    + ("the login" if "Authorization" in headers else "an anonymous token"),
                    hint=LOGIN_HINT.replace("HOST", self._base.split("://", 1)[1]),
                )
            body = response.raw.read(_MAX_TOKEN_ANSWER + 1, decode_content=True)
            if response.status_code != 200 or len(body) > _MAX_TOKEN_ANSWER:
                raise RegistryError(
                    f"registry {self._registry!r}: the token server {shown} answered HTTP {response.status_code}",
                    hint="the registry's authentication is misconfigured; try again later or tell its admin",
                )
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(
                f"registry {self._registry!r}: the token server {shown} gave no token",
                hint="the registry's authentication is misconfigured; tell its admin",
            )
        assert isinstance(answer, dict)
        expires = answer.get("expires_in")
        lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else _DEFAULT_LIFETIME
        return token, lifetime

    def _may_receive_login(self, realm: str) -> bool:
        """A login goes to a realm over HTTPS, or in plain HTTP only on the registry's own host (a lab's)."""
        realm_parts, base_parts = urlsplit(realm), urlsplit(self._base)
        if realm_parts.scheme.lower() == "https":
            return True
        return (realm_parts.hostname or "").lower() == (base_parts.hostname or "").lower()
