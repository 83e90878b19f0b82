"""A static-file route with real byte-range support, and the faults ranged downloads must survive.

``RangeFile`` answers ``bytes=a-b`` and ``bytes=a-`` like nginx (206 with ``Content-Range``, honouring
``If-Range``), counts requests and body bytes sent, and tracks how many replies are in flight. Faults
are switched on per test: ranges ignored (200 with the whole file), the file replaced after N requests
(with or without a new ETag honoured by ``If-Range``), one range answered with the wrong length, a cut
connection, and a trickle (seconds per chunk) down to a drip of single bytes.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class RangeFile:
    """Serves ``data``; see the module docstring for the faults."""

    data: bytes
    etag: str = '"v1"'
    ranges: bool = True
    if_range: bool = True
    delay: float = 0.0
    chunk: int = 64 << 10
    replace_after: int | None = None  # after this many requests, serve ``replacement`` instead
    replacement: bytes = b""
    replacement_etag: str = '"v2"'
    wrong_length_for: set[int] = field(default_factory=set)  # range starts answered short, once each
    cut_after: dict[int, int] = field(default_factory=dict)  # range start -> body bytes before the cut, once
    wrong_length_next: int = 0  # this many of the next replies to a range not starting at 0 answered short
    cut_next: int | None = None  # the next reply to a range not starting at 0 is cut after this many bytes
    starts: list[int] = field(default_factory=list)  # range starts answered short or cut, in order
    requests: int = 0
    sent: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> tuple[bytes, str]:
        if self.replace_after is not None and self.requests > self.replace_after:
            return self.replacement, self.replacement_etag
        return self.data, self.etag

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.requests += 1
            data, etag = self.current()
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self._answer(handler, data, etag)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, handler: BaseHTTPRequestHandler, data: bytes, etag: str) -> None:
        wanted = _RANGE.match(handler.headers.get("Range", ""))
        if_range = handler.headers.get("If-Range")
        use_range = self.ranges and wanted is not None and (not self.if_range or if_range in (None, etag))
        start, end = 0, len(data) - 1
        if use_range and wanted is not None:
            start = int(wanted.group(1))
            end = min(int(wanted.group(2)), len(data) - 1) if wanted.group(2) else len(data) - 1
        cut = None
        with self.lock:
            if use_range and start in self.wrong_length_for:
                self.wrong_length_for.discard(start)
                end = max(start, end - 1000)  # a shorter range than asked, announced as such
            if start in self.cut_after:
                cut = self.cut_after.pop(start)
            if use_range and start > 0 and self.wrong_length_next > 0:
                self.wrong_length_next -= 1
                self.starts.append(start)
                end = max(start, end - 1000)
            elif use_range and start > 0 and self.cut_next is not None:
                cut, self.cut_next = self.cut_next, None
                self.starts.append(start)
        body = data[start : end + 1]
        handler.send_response(206 if use_range else 200)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("ETag", etag)
        if self.ranges:
            handler.send_header("Accept-Ranges", "bytes")
        if use_range:
            handler.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        handler.end_headers()
        if cut is not None:
            body = body[:cut]
        try:
            for i in range(0, len(body), self.chunk):
                piece = body[i : i + self.chunk]
                handler.wfile.write(piece)
                handler.wfile.flush()
                with self.lock:
                    self.sent += len(piece)
                if self.delay:
                    time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
            return
        if cut is not None:
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
