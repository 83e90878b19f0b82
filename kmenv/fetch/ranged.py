"""One large file as parallel byte ranges into a preallocated temp file, resumable range by range.

CDNs and signed-URL object stores cap each connection (tens of MB/s), so one stream leaves most of
the line idle. Here a coordinator (the thread inside :meth:`~kmenv.store.blobstore.Store.ingest`)
asks for the first missing range itself, and the answer decides the rest:

- a 206 of exactly that range, of a file of the declared size: the other ranges go to the pool,
  at most ``connections`` in flight, each checked the same way and against the first validator;
- a 200: the server ignores ranges (or the file changed since the bytes on disk): that reply is
  used as one plain stream (:func:`~kmenv.fetch.download.download_with_retries`).

A range reply of the wrong length, or a connection that drops, retries that range from where its
bytes stop; a validator (ETag/Last-Modified) or total that changes mid-way means the file changed,
and the download starts over cleanly (twice at most). While ranges arrive the coordinator hashes
the contiguous prefix in order (sha256 needs it) and records every few tenths of a second which
ranges are on disk (atomically, beside the temp file), so a killed process resumes range by range;
the store then checks size, sha256 and every other digest before the atomic rename.
Memory: one read per connection in flight, nothing more.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

import requests

from kmenv.errors import IntegrityError, NetworkError
from kmenv.fetch.body import Cancelled, TooLong, Transient, read_body
from kmenv.fetch.download import (
    Submit,
    Transfer,
    _content_range,
    _raise_for_status,
    _validator,
    download_with_retries,
    gave_up,
    goog_hashes,
)
from kmenv.fetch.http import open_stream, redact_url, same_origin
from kmenv.fetch.source import FileSource
from kmenv.fetch.tuning import Tuning
from kmenv.store.blobstore import MISMATCH_HINT, BlobWriter
from kmenv.store.writer import merge_ranges

__all__ = ["RangedDownload"]

_TICK_SECONDS = 0.1  # how often the coordinator hashes, records and checks for Ctrl-C
_RECORD_SECONDS = 0.25  # the most progress a kill loses
_RESTARTS = 2  # the file may change under us this often before we give up


class _Changed(Exception):
    """The source's file is no longer the one whose bytes are on disk."""


@dataclass
class _Piece:
    """The range ``[start, end)`` still to fetch; ``failures`` so far for it."""

    start: int
    end: int
    failures: int = 0


def _gaps(done: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    gaps, at = [], 0
    for start, end in done:
        if start > at:
            gaps.append((at, start))
        at = max(at, end)
    if at < size:
        gaps.append((at, size))
    return gaps


class RangedDownload:
    """Fetches ``writer``'s file (its ``size`` known) in ranges; :meth:`run` returns when every byte is hashed."""

    def __init__(self, writer: BlobWriter, transfer: Transfer, tuning: Tuning) -> None:
        assert writer.size is not None
        self._writer = writer
        self._size = writer.size
        self._transfer = transfer
        self._session = transfer.session
        self._source = transfer.source
        self._policy = transfer.policy
        self._cancel = transfer.cancel
        self._meter = transfer.meter
        self._pace = transfer.pace
        self._tuning = tuning
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._progress: dict[int, tuple[int, int]] = {}  # piece id -> (start, bytes on disk end)
        self._validator: str | None = None
        self._target = transfer.source  # where ranges are asked for: the final URL after redirects

    def run(self, submit: Submit | None) -> None:
        """Fetch every missing byte; raise what stopped it (the bytes on disk are recorded for resume)."""
        own: ThreadPoolExecutor | None = None
        if submit is None:
            own = ThreadPoolExecutor(self._tuning.connections, thread_name_prefix="kmenv-range")
            submit = own.submit
        try:
            for restart in range(_RESTARTS + 1):
                try:
                    self._run_once(submit)
                    return
                except _Changed:
                    if restart == _RESTARTS:
                        raise NetworkError(
                            f"{self._writer.label}: {redact_url(self._source.url)} changed "
                            f"{_RESTARTS + 1} times while it was being downloaded",
                            hint="the file is being replaced upstream; try again once it is stable",
                        ) from None
                    self._writer.restart()
                    self._meter.moved_to(0)
        finally:
            if own is not None:
                own.shutdown(wait=True, cancel_futures=True)

    # the coordinator ------------------------------------------------------------------------------

    def _run_once(self, submit: Submit) -> None:
        writer = self._writer
        self._progress.clear()
        self._stop.clear()
        self._validator, self._target = None, self._source
        gaps = _gaps(writer.done, self._size)
        self._meter.moved_to(self._size - sum(end - start for start, end in gaps))
        if not gaps:
            writer.hash_through(self._size)
            return
        writer.preallocate()
        piece = self._tuning.piece_size(self._size)
        pending = deque(_Piece(s, min(s + piece, end)) for start, end in gaps for s in range(start, end, piece))
        first = pending.popleft()
        response = self._probe(first, resuming=bool(writer.done))
        if response is None:
            return  # the server ignores ranges: the file came as one stream
        running: dict[Future[Any], tuple[int, _Piece]] = {}
        ids = iter(range(1 << 62))
        try:
            running[submit(self._fetch_piece, next(ids), first, response)] = (0, first)
            last_record = time.monotonic()
            while pending or running:
                while pending and len(running) < self._tuning.connections:
                    number, item = next(ids), pending.popleft()
                    running[submit(self._fetch_piece, number, item, None)] = (number, item)
                finished, _ = wait(running, timeout=_TICK_SECONDS, return_when=FIRST_COMPLETED)
                for future in finished:
                    number, item = running.pop(future)
                    retry = self._settle(future, number, item)
                    if retry is not None:
                        pending.appendleft(retry)
                if self._cancel.is_set():
                    raise Cancelled
                self._pace.check()
                now = time.monotonic()
                self._hash_prefix(record=now - last_record >= _RECORD_SECONDS)
                if now - last_record >= _RECORD_SECONDS:
                    last_record = now
        finally:
            self._stop.set()
            for future in running:
                future.cancel()
            wait(running)  # no piece may touch the file once the store takes it back
            self._hash_prefix(record=True)
        writer.hash_through(self._size)

    def _settle(self, future: Future[Any], number: int, item: _Piece) -> _Piece | None:
        """What a finished piece means: None when done, the rest of it to retry, or raise."""
        error = future.exception()
        if error is None:
            return None
        if not isinstance(error, Transient):
            raise error
        item.failures += 1
        if self._policy.gives_up(item.failures):
            where = f"bytes {item.start}-{item.end - 1}, {item.failures} attempts, resuming where each stopped"
            raise gave_up(self._writer.label, self._source, error, where)
        reached = self._progress.get(number, (item.start, item.start))[1]
        return _Piece(reached, item.end, item.failures) if reached < item.end else None

    def _hash_prefix(self, *, record: bool) -> None:
        """Merge what the pieces wrote, hash the contiguous start, and (when ``record``) write the map down."""
        with self._lock:
            done = merge_ranges([*self._writer.done, *self._progress.values()])
        if record:
            self._writer.record_ranges(done)
        else:
            self._writer.done = done
        if done and done[0][0] == 0:
            self._writer.hash_through(done[0][1])

    def _probe(self, piece: _Piece, *, resuming: bool) -> requests.Response | None:
        """Ask for the first missing range; the open 206 reply, or None once a 200 was streamed whole."""
        failures = 0
        while True:
            if self._cancel.is_set():
                raise Cancelled
            try:
                response = self._request(self._source, piece, self._writer.validator if resuming else None)
                if response.status_code == 200:
                    self._stream_whole(response)
                    return None
                self._check_range(response, piece)
                break
            except Transient as exc:
                failures += 1
                if self._policy.gives_up(failures):
                    raise gave_up(self._writer.label, self._source, exc, f"{failures} attempts") from None
                if self._cancel.wait(self._policy.delay(failures)):
                    raise Cancelled from None
        self._validator = _validator(response)
        if resuming and self._writer.validator and self._validator != self._writer.validator:
            response.close()
            raise _Changed
        try:
            for name, value in goog_hashes(response.headers.get("x-goog-hash", "")):
                self._writer.expect_digest(name, value)  # may stop here: the store already has these bytes
        except BaseException:
            response.close()
            raise
        self._writer.remember_source(validator=self._validator, accepts_ranges=True)
        final = response.url or self._source.url
        if final != self._source.url:  # a redirect (Kaggle's signed URL): ask there, credentials only if home
            headers = dict(self._source.headers) if same_origin(final, self._source.url) else {}
            self._target = FileSource(url=final, headers=headers)
        return response

    def _stream_whole(self, response: requests.Response) -> None:
        """The server answered a range with the whole file: write it as one stream from zero."""
        writer = self._writer
        writer.restart()
        self._meter.moved_to(0)
        download_with_retries(writer, replace(self._transfer, limit=self._size), opened=response)

    # the pieces (pool threads) ----------------------------------------------------------------------

    def _request(self, source: FileSource, piece: _Piece, validator: str | None) -> requests.Response:
        headers = {"Accept-Encoding": "identity", "Range": f"bytes={piece.start}-{piece.end - 1}"}
        if validator:
            headers["If-Range"] = validator
        try:
            response = open_stream(self._session, source, headers, label=self._writer.label)
        except requests.Timeout:
            raise Transient("the server did not answer in time") from None
        except requests.RequestException:
            raise Transient("the connection failed") from None
        if response.status_code not in (200, 206):
            response.close()
            _raise_for_status(response.status_code, redact_url(response.url or ""), self._writer.label, self._policy)
            raise Transient(f"HTTP {response.status_code} to a range request")
        return response

    def _check_range(self, response: requests.Response, piece: _Piece) -> None:
        """A 206 must carry exactly ``piece`` of a file of the declared size, from the same source version."""
        span = _content_range(response)
        total = span[1] if span else None
        if total is not None and total != self._size:
            response.close()
            raise IntegrityError(
                f"{self._writer.label}: size mismatch: expected {self._size} bytes, the source announces {total}",
                hint=MISMATCH_HINT,
            )
        length = response.headers.get("Content-Length", "")
        wanted = piece.end - piece.start
        if span is None or span[0] != piece.start or (length.isdigit() and int(length) != wanted):
            response.close()
            raise Transient("the server answered with another range than the one asked for")
        if self._validator is not None and _validator(response) != self._validator:
            response.close()
            raise _Changed

    def _fetch_piece(self, number: int, piece: _Piece, response: requests.Response | None) -> None:
        """Fetch one range (using ``response`` when the probe already opened it); progress is recorded as it goes."""
        if self._stop.is_set() or self._cancel.is_set():
            if response is not None:
                response.close()
            raise Cancelled
        if response is None:
            if piece.failures and self._stop.wait(self._policy.delay(piece.failures)):
                raise Cancelled
            response = self._request(self._target, piece, self._validator)
            if response.status_code == 200:
                response.close()
                raise _Changed  # If-Range did not match: the file is another one now
            self._check_range(response, piece)
        position = piece.start
        self._progress[number] = (piece.start, position)

        def sink(chunk: bytes) -> None:
            nonlocal position
            self._writer.write_at(position, chunk)
            position += len(chunk)
            with self._lock:
                self._progress[number] = (piece.start, position)
            self._meter.received(len(chunk))

        with response:
            try:
                read_body(
                    response,
                    sink,
                    limit=piece.end - piece.start,
                    cancel=self._cancel,
                    pace=self._pace,
                    stop=self._stop,
                )
            except TooLong:
                raise Transient("the range reply was longer than the range asked for") from None
        if position < piece.end:
            raise Transient("the range reply ended early")
