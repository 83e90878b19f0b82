"""The distribution API as kmenv uses it: authenticated requests, retries, bounded reads, one-line errors.

Every answer is read within a size cap (manifests and configs 4 MiB, as registries themselves cap
manifests; listings 1 MiB a page), listings follow ``Link`` headers for a bounded number of pages,
and 408/429/5xx are retried with backoff, honouring a short ``Retry-After``. Messages name the
registry, the repository and the fix; they never carry a header or a login.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import IO

import requests

from kmenv.errors import ModelNotFoundError, NetworkError, RegistryDocumentError, RegistryError
from kmenv.fetch.http import make_session, redact_url, same_origin
from kmenv.fetch.retry import SERVER_ERRORS, RetryPolicy, retry_after
from kmenv.registry.oci.auth import LOGIN_HINT, Authorizer
from kmenv.registry.oci.credentials import Login
from kmenv.registry.oci.reference import OciLocation

__all__ = ["MAX_DOCUMENT", "OCI_RETRY", "Body", "OciClient"]

#: Three retries after the first try, waiting 0.5, 1 and 2 s (or a Retry-After of up to 30 s).
OCI_RETRY = RetryPolicy(
    attempts=4,
    backoff=0.5,
    honour_retry_after=True,
    max_retry_after=30.0,
    statuses=frozenset({408, 429}) | SERVER_ERRORS,
)
MAX_DOCUMENT = 4 << 20
_MAX_PAGE = 1 << 20
_MAX_PAGES = 100
_PAGE_SIZE = 1000
_RETRY_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)

#: A request body: bytes, or a function that opens it afresh for each try.
Body = bytes | Callable[[], IO[bytes]] | None


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


class OciClient:
    """Requests to one registry on behalf of the kmenv registry ``name``; thread-safe.

    ``verify`` is what requests verifies TLS with (True, or a CA bundle path); ``login_for``
    finds the user's login for a repository (see :mod:`kmenv.registry.oci.credentials`);
    ``certs_dir`` is the ``certs.d`` folder a TLS error tells the user to put a CA in.
    """

    def __init__(
        self,
        name: str,
        location: OciLocation,
        *,
        login_for: Callable[[str], Login | None],
        verify: bool | str = True,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = OCI_RETRY,
        certs_dir: str = "certs.d",
    ) -> None:
        self.name = name
        self._certs_dir = certs_dir
        self.location = location
        self.verify = verify
        self._session = session or make_session(8)
        self._timeout = timeout
        self._retry = retry
        self.auth = Authorizer(name, location.base, self._session, login_for=login_for, verify=verify, timeout=timeout)

    @property
    def session(self) -> requests.Session:
        return self._session

    def close(self) -> None:
        self._session.close()

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        scope: str,
        headers: dict[str, str] | None = None,
        body: Body = None,
        what: str,
    ) -> requests.Response:
        """Send one request with auth and retries; the answer (body unread) whatever its status but 401.

        A 401 the login cannot answer, and transient trouble that outlasts the retries, raise here.
        """
        if not url.startswith(("http://", "https://")):
            url = self.location.base + url
        failures = 0
        answered_challenge = False
        failure = ""
        while not self._retry.gives_up(failures):
            sent = dict(headers or {})
            if same_origin(url, self.location.base):
                sent.update(self.auth.headers(scope))
            opened = body() if callable(body) else None
            data: IO[bytes] | bytes | None = opened if opened is not None else body  # type: ignore[assignment]
            try:
                response = self._session.request(
                    method,
                    url,
                    headers=sent,
                    data=data,
                    timeout=self._timeout,
                    verify=self.verify,
                    stream=True,
                    allow_redirects=method == "GET",  # a HEAD's redirect already answers "it is there"
                )
            except requests.exceptions.SSLError:
                raise RegistryError(
                    f"registry {self.name!r}: TLS verification of {self.location.host} failed",
                    hint=f"put its CA certificate in {self._certs_dir}/{self.location.host}/ca.crt "
                    "(see README: OCI registries), or use oci+http:// for a plain-HTTP lab registry",
                ) from None
            except _RETRY_ERRORS as exc:
                failures += 1
                failure = "no answer in time" if isinstance(exc, requests.Timeout) else "could not connect"
                self._pause(failures, None)
                continue
            except requests.RequestException as exc:
                raise NetworkError(
                    f"registry {self.name!r}: {what} failed ({type(exc).__name__})",
                    hint="check the registry url and the network",
                ) from None
            finally:
                if opened is not None:
                    opened.close()
            status = response.status_code
            if status == 401 and not answered_challenge:
                response.close()
                answered_challenge = True
                if self.auth.answer(response, scope):
                    continue
                self._refuse(401, scope, what)
            if status == 401:
                response.close()
                self._refuse(401, scope, what)
            if self._retry.retries_status(status):
                asked = retry_after(response.headers)
                response.close()
                failures += 1
                failure = f"HTTP {status}" + (" (rate limited)" if status == 429 else "")
                if self._retry.refuses_wait(asked) or self._retry.gives_up(failures):
                    break
                self._pause(failures, asked)
                continue
            return response
        hint = (
            "the registry is limiting requests; wait a while and try again, or log in (anonymous limits are lower)"
            if "429" in failure
            else "check the network and the registry, then try again"
        )
        tries = "once" if failures == 1 else f"{failures} times"
        raise NetworkError(f"registry {self.name!r}: {what} failed, tried {tries}: {failure}", hint=hint)

    def _pause(self, failures: int, asked: float | None) -> None:
        if not self._retry.gives_up(failures):
            time.sleep(self._retry.delay(failures, asked=asked))

    def _refuse(self, status: int, scope: str, what: str) -> None:
        host = self.location.host
        if status == 401:
            said = "refused the login" if self.auth.has_login(scope) else "needs a login"
            raise RegistryError(
                f"registry {self.name!r}: {what}: {host} {said} (HTTP 401)", hint=LOGIN_HINT.replace("HOST", host)
            )
        raise RegistryError(
            f"registry {self.name!r}: {what}: access denied (HTTP 403)",
            hint=f"ask the registry's admin for access to {scope.split(':')[1]}, or log in as a user who has it",
        )

    def fail(self, response: requests.Response, scope: str, what: str) -> None:
        """Raise the error an unexpected answer means (403, 404, anything else); reads a bounded error body."""
        status = response.status_code
        detail = _error_detail(response)
        response.close()
        if status in (401, 403):
            self._refuse(status, scope, what)
        if status in (404, 410):
            raise ModelNotFoundError(
                f"registry {self.name!r}: {what}: not found{detail}",
                hint=f"check the handle and version; the registry is {self.location.url}",
            )
        raise RegistryError(
            f"registry {self.name!r}: {what}: HTTP {status}{detail}",
            hint="the registry refused the request; check the registry url, then tell its admin",
        )

    # -- reading ---------------------------------------------------------------------------

    def read(self, url: str, *, scope: str, headers: dict[str, str] | None = None, cap: int, what: str) -> bytes | None:
        """GET ``url``'s body within ``cap`` bytes; None on 404 (the caller words "missing")."""
        response = self.send("GET", url, scope=scope, headers=headers, what=what)
        with response:
            if response.status_code in (404, 410):
                return None
            if response.status_code != 200:
                self.fail(response, scope, what)
            return read_capped(response, cap, f"registry {self.name!r}: {what}")

    def read_json(self, url: str, *, scope: str, headers: dict[str, str] | None = None, cap: int, what: str) -> object:
        """GET and decode JSON; None on 404."""
        data = self.read(url, scope=scope, headers=headers, cap=cap, what=what)
        if data is None:
            return None
        return decode_json(data, f"registry {self.name!r}: {what}")

    def pages(self, path: str, key: str, *, scope: str, what: str, limit: int) -> Iterator[str]:
        """Every string in ``key`` of a paginated listing (tags, catalog), following ``Link`` up to ``limit`` items."""
        url = f"{self.location.base}{path}?n={_PAGE_SIZE}"
        seen = 0
        for _ in range(_MAX_PAGES):
            response = self.send("GET", url, scope=scope, what=what)
            with response:
                if response.status_code != 200:
                    self.fail(response, scope, what)
                data = decode_json(read_capped(response, _MAX_PAGE, f"registry {self.name!r}: {what}"), what)
                link = response.links.get("next", {}).get("url")
            items = data.get(key) if isinstance(data, dict) else None
            if items is None:
                items = []
            if not isinstance(items, list):
                raise RegistryDocumentError(f"registry {self.name!r}: {what}: {key!r} is not a list", hint=_HINT_API)
            for item in items:
                if isinstance(item, str):
                    seen += 1
                    if seen > limit:
                        raise RegistryDocumentError(  # a bound, like an answer too large to read
                            f"registry {self.name!r}: {what}: more than {limit} entries",
                            hint="kmenv reads at most that many; prune old tags or repositories",
                        )
                    yield item
            if not link:
                return
            nxt = requests.compat.urljoin(url, link)
            if not same_origin(nxt, self.location.base):
                raise RegistryDocumentError(
                    f"registry {self.name!r}: {what}: the next page is on another host ({redact_url(nxt)})",
                    hint=_HINT_API,
                )
            url = nxt
        raise RegistryDocumentError(f"registry {self.name!r}: {what}: more than {_MAX_PAGES} pages", hint=_HINT_API)


_HINT_API = "the registry does not answer as the OCI distribution spec says; tell its admin"


def read_capped(response: requests.Response, cap: int, what: str) -> bytes:
    """The body, refusing one larger than ``cap`` bytes (a registry may not make kmenv read without end)."""
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_content(1 << 16):
        total += len(chunk)
        if total > cap:
            raise RegistryDocumentError(f"{what}: the answer is larger than {cap >> 10} KiB", hint=_HINT_API)
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(data: bytes, what: str) -> object:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise RegistryDocumentError(f"{what}: the answer is not JSON", hint=_HINT_API) from None


def _error_detail(response: requests.Response) -> str:
    """``: CODE message`` from an OCI error body, clipped, or nothing."""
    try:
        data = json.loads(response.raw.read(1 << 14, decode_content=True))
        first = data["errors"][0]
        text = f"{first.get('code', '')} {first.get('message', '')}".strip()
    except Exception:
        return ""
    text = " ".join(text.split())[:160]
    return f" ({text})" if text else ""
