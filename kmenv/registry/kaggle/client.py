"""The Kaggle Models API over HTTP: RPC calls, retries that honour ``Retry-After``, errors with a next step.

Each call is ``POST {base}/models.ModelApiService/<Method>`` with a camelCase JSON body (fields
at their default left out, enums by their full names), as kagglesdk sends it. Every request has a
timeout. 429, 5xx and connection errors are retried with bounded exponential backoff and jitter
(:data:`API_RETRY`); other 4xx answers are final. A ``200`` whose JSON carries ``code >= 400``
counts as that error, as kagglesdk treats it. Answers go through :class:`~kmenv.registry.kaggle.cache.MetadataCache`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any
from urllib.parse import urljoin

import requests

from kmenv.errors import ModelNotFoundError, NetworkError, RegistryError
from kmenv.fetch.bounded import read_body
from kmenv.fetch.http import TIMEOUT, make_session, redact_url
from kmenv.fetch.retry import SERVER_ERRORS, RetryPolicy, retry_after
from kmenv.fetch.source import FileSource
from kmenv.registry.kaggle.account import renew_access_token
from kmenv.registry.kaggle.auth import CREDENTIALS_HINT, Credentials, find_credentials, identity_of
from kmenv.registry.kaggle.cache import MetadataCache
from kmenv.registry.kaggle.endpoint import DEFAULT_URL, resolve_base_url
from kmenv.values.documents import DocumentRefused, JsonBounds, parse_json
from kmenv.values.wording import counted

__all__ = ["API_RETRY", "DEFAULT_URL", "MAX_EMPTY_PAGES", "MAX_PAGES", "KaggleClient", "resolve_base_url"]

MODELS = "models.ModelApiService"
#: Four retries after the first try, waiting min(20 s, 0.5 s·2ⁿ) with jitter, or the server's ``Retry-After``
#: up to 120 s (a longer one fails at once); 429 and every 5xx are retried, other answers are final.
API_RETRY = RetryPolicy(
    attempts=5,
    backoff=0.5,
    cap=20.0,
    jitter=True,
    honour_retry_after=True,
    max_retry_after=120.0,
    statuses=frozenset({429}) | SERVER_ERRORS,
)
#: How one API answer is bounded: a page of 50 items is a few KiB; 16 MiB is far past any.
ANSWER_BOUNDS = JsonBounds(16 * 1024 * 1024)
#: Seconds one API answer's body may take to arrive.
ANSWER_DEADLINE = 120.0
#: The most pages one listing follows: 50,000 items at the page size kmenv asks for, far past any real listing.
MAX_PAGES = 1000
#: Pages in a row that hold nothing but a token to another page, after which a listing is refused.
MAX_EMPTY_PAGES = 5
_RETRY_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPT = frozenset({200, 304})
_ACCEPT_REDIRECT = _REDIRECTS | {200}


def _json(response: requests.Response) -> Any:
    """The answer's JSON (None when it is not JSON), read within :data:`ANSWER_BOUNDS` and :data:`ANSWER_DEADLINE`."""
    label = f"Kaggle API {redact_url(response.url or '')}"
    deadline = time.monotonic() + ANSWER_DEADLINE
    try:
        data = read_body(response, limit=ANSWER_BOUNDS.max_bytes, deadline=deadline, label=label)
    except requests.RequestException as exc:  # the connection broke or stalled while the answer arrived
        raise NetworkError(
            f"{label}: the answer broke off ({type(exc).__name__})", hint="check the network and try again"
        ) from None
    try:
        return parse_json(data, ANSWER_BOUNDS)
    except DocumentRefused:
        return None


def _holds_items(value: Any) -> bool:
    """Whether a page (or part of one) lists anything: Kaggle's pages carry their items in lists."""
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, dict):
        return any(_holds_items(v) for v in value.values())
    return False


def _server_message(data: Any) -> str:
    """The message of either error shape: ``{"code","message"}`` or ``{"error": {...}}``."""
    if isinstance(data, dict):
        inner = data.get("error")
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if data.get("message"):
            return str(data["message"])
    return ""


def _body_code(data: Any) -> int | None:
    if isinstance(data, dict):
        for holder in (data, data.get("error")):
            if isinstance(holder, dict) and isinstance(holder.get("code"), int) and holder["code"] >= 400:
                return int(holder["code"])
    return None


class KaggleClient:
    """Calls the Kaggle Models API at ``base_url``.

    ``credentials`` are looked up lazily (first call) unless given; ``anonymous=True`` sends none.
    ``sleep`` and ``rng`` are injectable so tests need not wait. ``max_pages`` bounds one listing (:meth:`pages`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        cache: MetadataCache | None = None,
        credentials: Credentials | None = None,
        anonymous: bool = False,
        session: requests.Session | None = None,
        retry: RetryPolicy = API_RETRY,
        timeout: tuple[float, float] = TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        env: Mapping[str, str] | None = None,
        warn: Callable[[str], None] = lambda _message: None,
        max_pages: int = MAX_PAGES,
    ) -> None:
        import os

        self.base_url = base_url.rstrip("/")
        self.cache = cache or MetadataCache(None, self.base_url)
        self._credentials = credentials
        self._looked_up = credentials is not None or anonymous
        self._session = session
        self._retry = retry
        self._timeout = timeout
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._env = os.environ if env is None else env
        self._warn = warn
        self.max_pages = max_pages
        self._lock = threading.RLock()  # reentrant: finding credentials may renew an OAuth token over this client

    def __repr__(self) -> str:
        return f"KaggleClient({self.base_url!r})"

    @property
    def offline(self) -> bool:
        return self.cache.offline

    # -- credentials ----------------------------------------------------------------------

    @property
    def credentials(self) -> Credentials | None:
        with self._lock:
            if not self._looked_up:
                renew = None if self.cache.offline else partial(renew_access_token, self)
                self._credentials = find_credentials(self._env, warn=self._warn, renew=renew)
                self._looked_up = True
            return self._credentials

    @property
    def identity(self) -> str:
        """Whom Kaggle answers: the cache scope of these credentials (a digest, or ``anonymous``)."""
        return identity_of(self.credentials)

    def who(self) -> str:
        """The caller, safe to show: ``user alice from kaggle.json`` or ``anonymous (no credentials)``."""
        return self.credentials.describe() if self.credentials else "anonymous (no credentials)"

    def auth_headers(self) -> dict[str, str]:
        """Headers for API calls: credentials, plus the IAP token staging/admin hosts need."""
        headers = dict(self.credentials.headers()) if self.credentials else {}
        iap = self._env.get("KAGGLE_IAP_TOKEN")
        if iap:
            headers["Proxy-Authorization"] = f"Bearer {iap}"
        return headers

    def session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                self._session = make_session(8)
            return self._session

    # -- calls ----------------------------------------------------------------------------

    def rpc(self, service: str, method: str, body: Mapping[str, object], *, what: str, signed: bool = True) -> Any:
        """One uncached call to any service (``Hello``, ``GenerateAccessToken``): its JSON answer.

        ``signed=False`` sends no credentials (renewing a token happens while they are being found).
        """
        _, data, _ = self._post(
            method, body, {"Content-Type": "application/json"}, what=what, page_url=None, service=service, signed=signed
        )
        return data

    def url(self, method: str, service: str = MODELS) -> str:
        return f"{self.base_url}/{service}/{method}"

    def call(
        self,
        method: str,
        body: Mapping[str, object],
        *,
        what: str,
        page_url: str | None = None,
        immutable: bool = False,
    ) -> dict[str, Any]:
        """One RPC answer as JSON, from the cache when fresh; ``what`` names the subject in messages."""
        body = {k: v for k, v in body.items() if v not in (None, "", 0, False)}
        scope = self.identity
        cached = self.cache.get(method, body, scope=scope)
        if self.cache.offline:
            if cached is None:
                raise RegistryError(
                    f"offline: the metadata cache has no Kaggle answer for {what} ({method}) given to {self.who()}",
                    hint="run the same command once online with these credentials (without --offline / "
                    "KMENV_OFFLINE); answers are kept per identity",
                )
            return cached.data
        if cached is not None and self.cache.is_fresh(cached):
            return cached.data
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        elif cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        status, data, response_headers = self._post(method, body, headers, what=what, page_url=page_url)
        if status == 304 and cached is not None:
            self.cache.touch(method, body, cached, scope=scope)
            return cached.data
        if not isinstance(data, dict):
            raise RegistryError(
                f"Kaggle API {method} for {what}: the answer is not a JSON object",
                hint="check the API url (KMENV_KAGGLE_URL / registries.<name>.url); it must end in /v1",
            )
        self.cache.put(
            method,
            body,
            data,
            scope=scope,
            etag=response_headers.get("ETag"),
            last_modified=response_headers.get("Last-Modified"),
            immutable=immutable,
        )
        return data

    def pages(
        self, method: str, body: Mapping[str, object], *, what: str, page_size: int = 50, immutable: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every page of a list call, following ``nextPageToken`` until it is empty.

        A server that never stops is refused (:class:`~kmenv.errors.RegistryError`): a token sent twice, more
        than ``max_pages`` pages, or :data:`MAX_EMPTY_PAGES` pages in a row that hold nothing but another token.
        """
        token = ""
        seen: set[str] = set()
        empty = number = 0
        while True:
            number += 1
            page = self.call(
                method, {**body, "pageSize": page_size, "pageToken": token}, what=what, immutable=immutable
            )
            yield page
            token = str(page.get("nextPageToken") or "")
            if not token:
                return
            empty = 0 if _holds_items(page) else empty + 1
            problem = None
            if token in seen:
                problem = "the server sent the same page token twice"
            elif number >= self.max_pages:
                problem = f"the server has more than {self.max_pages} pages"
            elif empty >= MAX_EMPTY_PAGES:
                problem = f"the server sent {empty} empty pages in a row, each pointing at another"
            if problem is not None:
                raise RegistryError(
                    f"Kaggle API {method} for {what}: {problem}; stopped after {number} page(s)",
                    hint="the listing would never end; try again later, or report it to Kaggle if it persists",
                )
            seen.add(token)

    def download_source(self, body: Mapping[str, object]) -> FileSource:
        """The request that downloads a file (``path`` set) or the whole version; it answers with a redirect."""
        clean = {k: v for k, v in body.items() if v not in (None, "", 0)}
        return FileSource(
            url=self.url("DownloadModelInstanceVersion"), method="POST", json=clean, headers=self.auth_headers()
        )

    # -- transport ------------------------------------------------------------------------

    def redirect_location(
        self, method: str, body: Mapping[str, object], *, what: str, page_url: str | None = None
    ) -> tuple[str | None, Mapping[str, str]]:
        """Send a download RPC without following it: (redirect target or None, the answer's headers)."""
        status, _, headers = self._post(
            method, body, {"Content-Type": "application/json"}, what=what, page_url=page_url, accept=_ACCEPT_REDIRECT
        )
        location = headers.get("Location")
        if status in _REDIRECTS and location:
            return urljoin(self.url(method), location), headers
        return None, headers

    def _post(
        self,
        method: str,
        body: Mapping[str, object],
        headers: dict[str, str],
        *,
        what: str,
        page_url: str | None,
        accept: frozenset[int] = _ACCEPT,
        service: str = MODELS,
        signed: bool = True,
    ) -> tuple[int, Any, Mapping[str, str]]:
        url = self.url(method, service)
        tried: list[str] = []
        failures = 0
        while True:
            asked: float | None = None
            try:
                response = self.session().post(
                    url,
                    json=dict(body),
                    headers={**headers, **(self.auth_headers() if signed else {})},
                    timeout=self._timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except _RETRY_ERRORS as exc:
                tried.append("no answer in time" if isinstance(exc, requests.Timeout) else "connection failed")
            except requests.RequestException as exc:
                raise NetworkError(f"Kaggle API {method} for {what} failed ({type(exc).__name__})") from None
            else:
                with response:
                    status = response.status_code
                    is_json = "json" in response.headers.get("Content-Type", "")
                    wants_json = is_json or (status == 200 and accept is _ACCEPT)
                    data = _json(response) if wants_json and status != 304 else None
                    status = _body_code(data) or status
                    if status in accept:
                        return status, data, response.headers
                    if not self._retry.retries_status(status):
                        raise self._final_error(status, data, method, what, page_url)
                    tried.append(f"HTTP {status}" + (f" ({_server_message(data)})" if _server_message(data) else ""))
                    asked = retry_after(response.headers)  # sent with 429, sometimes with 503
            failures += 1
            if self._retry.gives_up(failures):
                break
            if asked is not None and self._retry.refuses_wait(asked):
                tried.append(f"the server asked to wait {asked:.0f} s, longer than {self._retry.max_retry_after:.0f} s")
                break
            self._sleep(self._retry.delay(failures, asked=asked, rng=self._rng))
        summary = "; ".join(dict.fromkeys(tried))
        raise NetworkError(
            f"Kaggle API {method} for {what} failed after "
            f"{counted(len([t for t in tried if not t.startswith('the server')]), 'attempt')}: {summary}",
            hint="Kaggle may be rate-limiting or down; wait a minute and try again "
            "(cached metadata works with --offline)",
        )

    def _final_error(self, status: int, data: Any, method: str, what: str, page_url: str | None) -> RegistryError:
        message = _server_message(data)
        if status == 401:
            found = self._credentials if self._looked_up else None  # not while they are being found
            who = found.describe() if found else "no credentials"
            return RegistryError(
                f"Kaggle rejected the credentials ({who}) when asking {method} for {what} (HTTP 401)",
                hint=CREDENTIALS_HINT,
            )
        if status == 403:
            page = page_url or "https://www.kaggle.com/models"
            if "consent" in message.lower() or "terms" in message.lower() or "licen" in message.lower():
                return RegistryError(
                    f"{what}: the model's licence must be accepted before it can be downloaded (HTTP 403: {message})",
                    hint=f"sign in and accept the licence at {page}, then use the same account's credentials",
                )
            return RegistryError(
                f"{what}: Kaggle refused access (HTTP 403{': ' + message if message else ''})",
                hint=f"the model may be private or need its licence accepted at {page}; {CREDENTIALS_HINT}",
            )
        if status == 404:
            return ModelNotFoundError(
                f"Kaggle has no {what} ({method}: HTTP 404{': ' + message if message else ''})",
                hint="check the handle's spelling with `kmenv search` / `kmenv show OWNER/MODEL`",
            )
        return RegistryError(
            f"Kaggle API {method} for {what} answered HTTP {status}{': ' + message if message else ''}",
            hint="this request was refused as malformed; check the handle and the API url",
        )
