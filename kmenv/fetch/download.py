"""One file's bytes from its source into a :class:`~kmenv.store.blobstore.BlobWriter`: retries, resume, errors.

Network trouble (connection errors, timeouts, dropped streams, and the statuses the
:class:`~kmenv.fetch.retry.RetryPolicy` names: 408/429/5xx) is retried with exponential backoff;
other answers are final. A retry resumes with ``Range`` (and ``If-Range`` when the source gave a
strong validator) and keeps the reply only when it is a 206 whose ``Content-Range`` starts exactly
where the bytes on disk stop; otherwise it starts over from zero. URLs in messages lose their query
strings (signed URLs), and headers never appear. :func:`kmenv.fetch.stream.stream_into` decides
between this one stream and :mod:`kmenv.fetch.ranged` (parallel byte ranges), which falls back to
this one stream when the server ignores ranges.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests

from kmenv.errors import IntegrityError, NetworkError, RegistryError
from kmenv.fetch.body import Cancelled, TooLong, read_body
from kmenv.fetch.body import Transient as _Transient
from kmenv.fetch.http import open_stream, redact_url
from kmenv.fetch.pace import Pace
from kmenv.fetch.progress import ProgressSink
from kmenv.fetch.retry import RetryPolicy
from kmenv.fetch.source import FileSource
from kmenv.store.blobstore import CHUNK_SIZE, MISMATCH_HINT, BlobWriter
from kmenv.values.wording import counted

__all__ = [
    "DOWNLOAD_RETRY",
    "Cancelled",
    "Meter",
    "Submit",
    "Transfer",
    "copy_local",
    "download_with_retries",
    "gave_up",
    "goog_hashes",
]

#: Runs a task on the batch's shared pool (ranges before whole small files); see :mod:`kmenv.fetch._batch`.
Submit = Callable[..., "Future[Any]"]

#: Three retries after the first try, waiting 0.5, 1 and 2 s; 408, 429, 500, 502, 503 and 504 retry.
DOWNLOAD_RETRY = RetryPolicy(attempts=4, backoff=0.5)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class Meter:
    """Tracks where one file's progress stands, so restarts can move the bar back (thread-safe: ranges share one)."""

    def __init__(self, label: str, sink: ProgressSink, on_transfer: Callable[[int], None]) -> None:
        self.label = label
        self._sink = sink
        self._on_transfer = on_transfer
        self._shown = 0
        self._lock = threading.Lock()

    def moved_to(self, offset: int) -> None:
        """The bytes on disk now total ``offset`` (resumed, or restarted from zero)."""
        with self._lock:
            self._sink.moved(self.label, offset - self._shown)
            self._shown = offset

    def received(self, nbytes: int) -> None:
        """``nbytes`` arrived from the source and were written."""
        with self._lock:
            self._on_transfer(nbytes)
            self._sink.advance(self.label, nbytes)
            self._shown += nbytes


def _check(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise Cancelled


def copy_local(writer: BlobWriter, url: str, *, cancel: threading.Event, meter: Meter) -> None:
    """Copy (and hash) a local file; cheap enough to always start from zero."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise RegistryError(
            f"{writer.label}: {url} names a remote host; file:// URLs must be local",
            hint="use an http(s):// URL for remote registries",
        )
    path = url2pathname(parts.path)
    writer.restart()
    meter.moved_to(0)
    try:
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                _check(cancel)
                writer.write(chunk)
                meter.received(len(chunk))
    except FileNotFoundError:
        raise RegistryError(  # the registry contradicts itself; ModelNotFoundError is for names that do not exist
            f"{writer.label}: {path} does not exist",
            hint="the registry lists a file it does not have; check the registry folder",
        ) from None
    except (IsADirectoryError, PermissionError) as exc:
        raise RegistryError(f"{writer.label}: cannot read {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class Transfer:
    """What every attempt at one file shares: where its bytes come from, how to retry, when to stop.

    ``pace`` is the file's deadline across attempts; ``limit`` the most bytes accepted when no size
    is declared; ``meter`` where progress goes.
    """

    session: requests.Session
    source: FileSource
    policy: RetryPolicy
    cancel: threading.Event
    meter: Meter
    pace: Pace
    limit: int


def download_with_retries(writer: BlobWriter, t: Transfer, opened: requests.Response | None = None) -> None:
    """One stream, retried and resumed; ``opened`` is a reply to use first (a 200 a ranged probe received)."""
    failures = 0
    while True:
        _check(t.cancel)
        try:
            if opened is not None:
                response, opened = opened, None
                with response:
                    _consume(writer, response, t)
            else:
                _attempt(writer, t)
            return
        except _Transient as exc:
            failures += 1
            if t.policy.gives_up(failures):
                how = (
                    f"{counted(failures, 'attempt')}{', resuming where each stopped' if writer.accepts_ranges else ''}"
                )
                raise gave_up(writer.label, t.source, exc, how) from None
            if t.cancel.wait(t.policy.delay(failures)):
                raise Cancelled from None


def gave_up(label: str, source: FileSource, why: Exception, how: str) -> NetworkError:
    """The error once retries are used up: the file, the URL without secrets, what failed and how often."""
    return NetworkError(
        f"{label}: could not download {redact_url(source.url)}: {why} ({how})",
        hint="check the network connection and try again; finished files are kept and unfinished ones resume",
    )


def _validator(response: requests.Response) -> str | None:
    """A strong validator for ``If-Range``: the ETag unless weak, else Last-Modified."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def _content_range(response: requests.Response) -> tuple[int, int | None] | None:
    """(first byte, complete length or None) of a 206 reply, None when the header is unusable."""
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
    if not match:
        return None
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _attempt(writer: BlobWriter, t: Transfer) -> None:
    """One request: resume or restart, then stream the body; raise _Transient for retryable trouble."""
    offset = writer.offset
    if offset > 0 and offset == writer.size:
        return  # every byte is already on disk (stopped before verification); verification decides
    headers = {"Accept-Encoding": "identity"}  # the bytes as stored, never a transfer-compressed form
    resuming = offset > 0 and writer.accepts_ranges is not False
    if offset and not resuming:  # the source cannot resume: its answer will be the whole file
        writer.restart()
        t.meter.moved_to(0)
        offset = 0
    if resuming:
        headers["Range"] = f"bytes={offset}-"
        if writer.validator:
            headers["If-Range"] = writer.validator
    try:
        response = open_stream(t.session, t.source, headers, label=writer.label)
    except requests.Timeout:
        raise _Transient("the server did not answer in time") from None
    except requests.RequestException:
        raise _Transient("the connection failed") from None
    with response:
        status = response.status_code
        if resuming and status in (200, 206, 416) and not _continues_at(response, offset):
            # Not the bytes after ours (a 200, another range, 416): drop ours. A 200 body is the whole
            # file and can be used as it is; anything else needs a plain request.
            writer.restart()
            t.meter.moved_to(0)
            if status != 200:
                response.close()
                return _attempt(writer, t)
        _consume(writer, response, t)


def _consume(writer: BlobWriter, response: requests.Response, t: Transfer) -> None:
    """Check a 200/206 reply, learn what it says about the source, and append its body to ``writer``."""
    status = response.status_code
    _check_answer(writer, response, t.policy)
    for name, value in goog_hashes(response.headers.get("x-goog-hash", "")):
        writer.expect_digest(name, value)
    if status == 206:
        writer.resumed = True
    writer.remember_source(
        validator=_validator(response),
        accepts_ranges=status == 206 or response.headers.get("Accept-Ranges", "").lower() == "bytes",
    )
    _stream_body(writer, response, t)


def goog_hashes(header: str) -> list[tuple[str, str]]:
    """``(algorithm, base64 value)`` pairs of an ``x-goog-hash`` header (``crc32c=AAA==,md5=BBB==``).

    Google Cloud Storage (where Kaggle's downloads land) sends the whole object's digests even
    on a 206, so they are checked in the same pass as sha256.
    """
    pairs = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep and name and value:
            pairs.append((name.strip().lower(), value.strip()))
    return pairs


def _continues_at(response: requests.Response, offset: int) -> bool:
    """True for a 206 whose Content-Range starts exactly at ``offset``."""
    span = _content_range(response) if response.status_code == 206 else None
    return span is not None and span[0] == offset


def _check_answer(writer: BlobWriter, response: requests.Response, policy: RetryPolicy) -> None:
    """Raise unless ``response`` carries the file (200) or the range we asked for (206), of the right size."""
    status = response.status_code
    where = redact_url(response.url or "")
    _raise_for_status(status, where, writer.label, policy)
    if status == 206 and writer.offset > 0:
        span = _content_range(response)
        announced = span[1] if span else None
    elif status == 200:
        announced = _content_length(response)
    else:
        raise RegistryError(
            f"{writer.label}: {where} answered HTTP {status} instead of the file",
            hint="the server is misconfigured; try again later or report it to the registry",
        )
    if announced is not None and writer.size is not None and announced != writer.size:
        raise IntegrityError(
            f"{writer.label}: size mismatch: expected {writer.size} bytes, the source announces {announced}",
            hint=MISMATCH_HINT,
        )


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _stream_body(writer: BlobWriter, response: requests.Response, t: Transfer) -> None:
    """Append the body; never more than the writer's size (its own check) or ``limit`` when no size is declared."""
    expected = _content_length(response)

    def sink(chunk: bytes) -> None:
        writer.write(chunk)
        t.meter.received(len(chunk))

    allowed = t.limit if writer.size is None else writer.size - writer.offset + 1  # one past: the writer says why
    try:
        received = read_body(response, sink, limit=allowed, cancel=t.cancel, pace=t.pace)
    except TooLong:
        raise IntegrityError(
            f"{writer.label}: the source sent more than {t.limit} bytes, "
            "the most accepted for a file of undeclared size",
            hint=MISMATCH_HINT,
        ) from None
    if expected is not None and received < expected:
        raise _Transient("the connection closed early")


def _raise_for_status(status: int, where: str, label: str, policy: RetryPolicy) -> None:
    if status in (200, 206):
        return
    if status in (404, 410):
        raise RegistryError(  # a file the registry listed: its trouble, not a mistyped name
            f"{label}: {where} answered HTTP {status} (not found)",
            hint="the registry lists a file its server does not have; check the model version still exists",
        )
    if status in (401, 403):
        raise RegistryError(
            f"{label}: {where} answered HTTP {status} (access denied)",
            hint="check your login to this registry (Kaggle: `kmenv login`; an OCI registry: `docker login HOST`), "
            "and accept the model's licence on its page if it asks for consent",
        )
    if policy.retries_status(status):
        raise _Transient(f"HTTP {status}")
