"""Reading one static registry document, from the disk or over HTTP, within its bounds.

Either way the bytes are capped before they are parsed (:data:`~kmenv.registry.static.documents.DOCUMENT_BOUNDS`):
a folder, a FIFO or ``/dev/zero`` in place of a file is refused, an HTTP body is read no further than the cap and
no longer than the deadline (:func:`kmenv.fetch.bounded.read_body`), and the JSON is parsed by the one bounded
reader (:func:`kmenv.values.documents.parse_json`). Every refusal names the document and, where it can, the place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests
from requests.auth import AuthBase

from kmenv.errors import NetworkError, RegistryDocumentError, RegistryError
from kmenv.fetch.bounded import read_body
from kmenv.fetch.http import make_session
from kmenv.fetch.retry import RetryPolicy
from kmenv.fs.bounded import NotAFileError, TooLargeError, read_capped
from kmenv.registry.static.documents import DOCUMENT_BOUNDS
from kmenv.values.documents import DocumentRefused, oversized, parse_json

__all__ = ["DOCUMENT_DEADLINE", "DocumentReader", "local_path", "scheme", "shown"]

#: Seconds one document may take to arrive, every retry included: enough for the largest one at 1 MiB/s.
DOCUMENT_DEADLINE = 120.0
_RETRY_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_HEADERS = {"Accept": "application/json"}
HINT_URL = "is the registry url right? it must name the folder or URL that holds index.json"


class DocumentReader:
    """Reads the documents of registry ``name``; HTTP reads send ``auth`` and retry as ``retry`` says.

    ``auth`` is the registry's login for its own host (:class:`~kmenv.registry.static.credentials.Login`);
    ``refused_hint`` is what a 401/403 tells the user to set.

    ``session`` is used as given (and left open); without one, a session is made on first need and closed by
    :meth:`close`.
    """

    def __init__(
        self,
        name: str,
        *,
        auth: Callable[[str], AuthBase | None],
        session: requests.Session | None,
        timeout: float,
        deadline: float,
        retry: RetryPolicy,
        refused_hint: str = "the server refused access; add a ~/.netrc entry for the host if it needs a login",
    ) -> None:
        self.name = name
        self._auth = auth
        self._refused_hint = refused_hint
        self._session = session
        self._own_session: requests.Session | None = None
        self._timeout = timeout
        self._deadline = deadline
        self._retry = retry

    def close(self) -> None:
        """Release the HTTP connections this object opened."""
        if self._own_session is not None:
            self._own_session.close()
            self._own_session = None

    def read_json(self, url: str, missing: Callable[[], RegistryError]) -> object:
        """The document at ``url``, read and parsed within :data:`DOCUMENT_BOUNDS` (and, over HTTP, the deadline)."""
        data = self._read_local(url) if scheme(url) == "file" else self._read_http(url)
        if data is None:
            raise missing()
        try:
            return parse_json(data, DOCUMENT_BOUNDS)
        except DocumentRefused as refused:
            raise _refused(refused, url) from None

    def _read_local(self, url: str) -> bytes | None:
        path = local_path(url)
        try:
            return read_capped(path, DOCUMENT_BOUNDS.max_bytes)
        except NotAFileError as exc:
            raise RegistryError(f"registry {self.name!r}: {path} is {exc.kind}, not a file", hint=HINT_URL) from None
        except TooLargeError:
            raise _refused(oversized(DOCUMENT_BOUNDS), url) from None
        except OSError as exc:
            raise RegistryError(
                f"registry {self.name!r}: cannot read {path}: {exc.strerror or exc}",
                hint="check that the registry folder is readable",
            ) from None

    def _read_http(self, url: str) -> bytes | None:
        """GET ``url``; ``None`` when the server says it does not exist (404/410).

        Every try together must finish within the registry's deadline, and the body is read no further than
        :data:`DOCUMENT_BOUNDS` allows (:func:`kmenv.fetch.bounded.read_body`).
        """
        session = self._http_session()
        deadline = time.monotonic() + self._deadline
        failure = ""
        failures = 0
        while not self._retry.gives_up(failures):
            if failures:
                time.sleep(self._retry.delay(failures))
            try:
                response = session.get(url, timeout=self._timeout, auth=self._auth(url), headers=_HEADERS, stream=True)
            except _RETRY_ERRORS as exc:
                failure = _describe_failure(exc, self._timeout)
                failures += 1
                continue
            except requests.RequestException as exc:
                raise NetworkError(
                    f"registry {self.name!r}: GET {url} failed ({type(exc).__name__})", hint=HINT_URL
                ) from None
            with response:
                status = response.status_code
                if self._retry.retries_status(status):
                    failure = f"the server answered HTTP {status}"
                    failures += 1
                    continue
                if status in (404, 410):
                    return None
                if status >= 400:
                    raise RegistryError(
                        f"registry {self.name!r}: GET {url} answered HTTP {status}",
                        hint=self._refused_hint if status in (401, 403) else HINT_URL,
                    )
                try:
                    return read_body(
                        response,
                        limit=DOCUMENT_BOUNDS.max_bytes,
                        deadline=deadline,
                        label=f"registry {self.name!r}: GET {url}",
                    )
                except _RETRY_ERRORS as exc:
                    failure = _describe_failure(exc, self._timeout)
                    failures += 1
                    continue
        tries = "once" if failures == 1 else f"{failures} times"
        raise NetworkError(
            f"registry {self.name!r}: GET {url} failed, tried {tries}: {failure}",
            hint="check the network and the registry url, then try again (or pass --offline to use the cache)",
        )

    def _http_session(self) -> requests.Session:
        if self._session is not None:
            return self._session
        if self._own_session is None:
            self._own_session = make_session(1)
        return self._own_session


def scheme(url: str) -> str:
    """The URL's scheme, lower-case."""
    return urlsplit(url).scheme.lower()


def local_path(url: str) -> Path:
    """The path a ``file://`` URL names."""
    return Path(url2pathname(urlsplit(url).path))


def shown(url: str) -> str:
    """How a document's place reads in messages: a plain path for local files, else the URL."""
    return str(local_path(url)) if scheme(url) == "file" else url


def _refused(refused: DocumentRefused, url: str) -> RegistryDocumentError:
    """A registry document kmenv will not read, named with its place (line and column where known)."""
    return RegistryDocumentError(f"{refused.place(shown(url))}: {refused.message}", hint=refused.hint)


def _describe_failure(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke mid-answer"
    return f"could not connect ({type(exc).__name__})"
