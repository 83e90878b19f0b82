"""One large file as byte ranges into a preallocated temp file: one stream, split where that pays; resumable.

CDNs and signed-URL object stores cap each connection (tens of MB/s), so one stream leaves most of
the line idle; a fast server gains nothing from more connections but requests. Here a coordinator
(the thread inside :meth:`~kmenv.store.blobstore.Store.ingest`) asks for the first missing bytes
itself, to the end of the file (``bytes=a-``), and the answer decides the rest:

- a 206 of exactly that, of a file of the declared size: it is read as one stream, and
  :class:`~kmenv.fetch.adapt.Growth` decides from its measured speed whether more connections
  join. The second one takes half of the first's rest (the owner's end moves to the middle,
  aria2's way). Once every connection may join, the ranges running are cut short and the rest is
  handed out front to back in shrinking pieces (:mod:`kmenv.fetch.pieces`), so the bytes
  arrive nearly in order and sha256 keeps pace instead of reading most of the file back after its
  last byte. Every request is checked the same way and against the first validator; a connection
  with nothing left to take takes half of the largest range still running;
- a 200: the server ignores ranges (or the file changed since the bytes on disk): that reply is
  used as one plain stream (:func:`~kmenv.fetch.download.download_with_retries`).

A range reply of the wrong length, or a connection that drops, retries that range from where its
bytes stop; a validator (ETag/Last-Modified) or total that changes mid-way means the file changed,
and the download starts over cleanly (twice at most). The hashes follow the contiguous prefix in
order (sha256 needs it; :meth:`~kmenv.store.writer.BlobWriter.write_at` hands bytes continuing it
straight to the hashing thread), and every few tenths of a second the coordinator records which
ranges are on disk (atomically, beside the temp file), so a killed process resumes range by range;
the store then checks size, sha256 and every other digest before the atomic rename.
Memory: one read per connection in flight and the hashing thread's short queue, nothing more.
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
from kmenv.fetch.adapt import Growth
from kmenv.fetch.body import READ_SIZE, Cancelled, TooLong, Transient, read_body
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
from kmenv.fetch.pieces import Piece, carve, gaps, split_off, take
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
class _Reached(Exception):
    """A range's bytes are all on disk (its end moved closer while it ran); its reply is dropped."""


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
        self._pieces: list[Piece] = []  # every range started this run, their progress under ``_lock``
        self._received = 0  # bytes received this run (for :class:`~kmenv.fetch.adapt.Growth`)
        self._flowing = 0  # requests that delivered bytes this run (likewise)
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
        self._pieces.clear()
        self._received = self._flowing = 0
        self._stop.clear()
        self._validator, self._target = None, self._source
        missing = gaps(writer.done, self._size)
        self._meter.moved_to(self._size - sum(end - start for start, end in missing))
        if not missing:
            writer.hash_through(self._size)
            return
        writer.preallocate()
        tuning = self._tuning
        growth = Growth(tuning.connections, window=tuning.adapt_seconds, horizon=tuning.split_after)
        pending = deque(Piece(start, end) for start, end in missing)  # bytes no request asks for yet
        least = self._least()
        first = pending.popleft() if growth.connections <= 1 else take(pending, growth.connections, least)
        carved = growth.connections > 2  # every connection at once: the pieces are in order already
        response = self._probe(first, resuming=bool(writer.done))
        if response is None:
            return  # the server ignores ranges: the file came as one stream
        running: dict[Future[Any], Piece] = {}
        try:
            self._pieces.append(first)
            running[submit(self._fetch_piece, first, (response, first.end - first.at))] = first
            last_record = time.monotonic()
            while pending or running:
                while len(running) < growth.connections:
                    if not pending and not carved and growth.connections > 2:
                        carved = True
                        with self._lock:
                            pending.extend(carve(list(running.values()), growth.connections, least))
                    item: Piece | None
                    if pending:
                        item = take(pending, growth.connections, least)
                    else:
                        with self._lock:
                            item = split_off(list(running.values()), least)
                    if item is None:
                        break
                    self._pieces.append(item)
                    running[submit(self._fetch_piece, item, None)] = item
                tick = min(_TICK_SECONDS, tuning.adapt_seconds / 10) if growth.deciding else _TICK_SECONDS
                finished, _ = wait(running, timeout=tick, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = running.pop(future)
                    if self._settle(future, item):
                        pending.appendleft(item)
                if self._cancel.is_set():
                    raise Cancelled
                self._pace.check()
                now = time.monotonic()
                growth.update(now, self._received, self._remaining(pending), self._flowing)
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

    def _least(self) -> int:
        """The smallest range worth a request of its own (a file just past ``split_size`` still splits)."""
        tuning = self._tuning
        return max(READ_SIZE, min(tuning.piece_min, tuning.split_size // 4))

    def _remaining(self, pending: deque[Piece]) -> int:
        with self._lock:
            return sum(p.end - p.at for p in (*self._pieces, *pending) if p.end > p.at)

    def _settle(self, future: Future[Any], item: Piece) -> bool:
        """What a finished piece means: False when done, True when the rest of it is to be retried, or raise."""
        error = future.exception()
        if error is None:
            return False
        if not isinstance(error, Transient):
            raise error
        item.failures += 1
        if self._policy.gives_up(item.failures):
            where = f"bytes {item.at}-{item.end - 1}, {item.failures} attempts, resuming where each stopped"
            raise gave_up(self._writer.label, self._source, error, where)
        return item.at < item.end

    def _hash_prefix(self, *, record: bool) -> None:
        """Merge what the pieces wrote, hash the contiguous start, and (when ``record``) write the map down."""
        with self._lock:
            done = merge_ranges([*self._writer.done, *((p.start, p.at) for p in self._pieces)])
        if record:
            self._writer.record_ranges(done)
        else:
            self._writer.done = done
        if done and done[0][0] == 0:
            self._writer.hash_through(done[0][1])

    def _probe(self, piece: Piece, *, resuming: bool) -> requests.Response | None:
        """Ask for the first missing range; the open 206 reply, or None once a 200 was streamed whole."""
        failures = 0
        while True:
            if self._cancel.is_set():
                raise Cancelled
            try:
                validator = self._writer.validator if resuming else None
                response = self._request(self._source, piece, piece.end, validator, first=True)
                if response.status_code == 200:
                    self._stream_whole(response)
                    return None
                self._check_range(response, piece, piece.end)
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

    def _request(
        self, source: FileSource, piece: Piece, end: int, validator: str | None, *, first: bool = False
    ) -> requests.Response:
        """Ask for ``piece`` from where its bytes stop to ``end``.

        The ``first`` request of a file, when it reaches the end, is an open range (``bytes=a-``): most
        files never split, and an open range is the one request a plain client would make. Every later
        request is closed, so a server never sends past the point the bytes are wanted to.
        """
        last = "" if first and end == self._size else str(end - 1)
        headers = {"Accept-Encoding": "identity", "Range": f"bytes={piece.at}-{last}"}
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

    def _check_range(self, response: requests.Response, piece: Piece, end: int) -> None:
        """A 206 must carry exactly ``piece`` up to ``end``, of a file of the declared size, from the same version."""
        span = _content_range(response)
        total = span[1] if span else None
        if total is not None and total != self._size:
            response.close()
            raise IntegrityError(
                f"{self._writer.label}: size mismatch: expected {self._size} bytes, the source announces {total}",
                hint=MISMATCH_HINT,
            )
        length = response.headers.get("Content-Length", "")
        wanted = end - piece.at
        if span is None or span[0] != piece.at or (length.isdigit() and int(length) != wanted):
            response.close()
            raise Transient("the server answered with another range than the one asked for")
        if self._validator is not None and _validator(response) != self._validator:
            response.close()
            raise _Changed

    def _fetch_piece(self, piece: Piece, opened: tuple[requests.Response, int] | None) -> None:
        """Fetch one range (using the reply the probe opened, and the bytes it asked for) until its bytes reach its end.

        Its end may move closer meanwhile (:mod:`kmenv.fetch.pieces`); the reply is then dropped there.
        """
        if self._stop.is_set() or self._cancel.is_set():
            if opened is not None:
                opened[0].close()
            raise Cancelled
        if opened is None:
            if piece.failures and self._stop.wait(self._policy.delay(piece.failures)):
                raise Cancelled
            with self._lock:
                end = piece.end  # it may move closer while the request is on its way
            response = self._request(self._target, piece, end, self._validator)
            if response.status_code == 200:
                response.close()
                raise _Changed  # If-Range did not match: the file is another one now
            self._check_range(response, piece, end)
            asked = end - piece.at
        else:
            response, asked = opened
        lock, writer, meter = self._lock, self._writer, self._meter
        flowing = False

        def sink(chunk: bytes) -> None:
            nonlocal flowing
            with lock:
                room = piece.end - piece.at
            data = chunk if len(chunk) <= room else memoryview(chunk)[: max(room, 0)]
            if data:
                writer.write_at(piece.at, data)
                with lock:
                    piece.at += len(data)
                    self._received += len(data)
                    if not flowing:
                        flowing, self._flowing = True, self._flowing + 1
                meter.received(len(data))
            if len(data) < len(chunk) or piece.at >= piece.end:
                raise _Reached

        with response:
            try:
                read_body(response, sink, limit=asked, cancel=self._cancel, pace=self._pace, stop=self._stop)
            except _Reached:
                return
            except TooLong:
                raise Transient("the range reply was longer than the range asked for") from None
        if piece.at < piece.end:
            raise Transient("the range reply ended early")
