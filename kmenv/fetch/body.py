"""Reading one HTTP reply's body: bounded, paced, interruptible, without copying the bytes again.

Each read is ``read1``: at most one receive, so a Ctrl-C or a failure elsewhere is noticed between
receives (within a second even from a server that drips), and the pace rules see every byte as it
arrives. The chunks go to the caller's sink as they came off the socket; nothing is buffered here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests
import urllib3.exceptions

from kmenv.fetch.pace import Pace

__all__ = ["READ_SIZE", "Cancelled", "Transient", "read_body"]

#: The most one read asks for; a receive returns what the socket holds, up to this.
READ_SIZE = 1 << 20


class Cancelled(Exception):
    """Another download failed or the user interrupted; this one stops where it is."""


class Transient(Exception):
    """A failure worth retrying; the message is safe to show (no URL, no header)."""


class TooLong(Exception):
    """The reply carried more bytes than may be accepted; ``limit`` is how many."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def read_body(
    response: requests.Response,
    sink: Callable[[bytes], None],
    *,
    limit: int,
    cancel: threading.Event,
    pace: Pace,
    stop: threading.Event | None = None,
) -> int:
    """Feed the body to ``sink`` chunk by chunk; the number of bytes read.

    Raises :class:`TooLong` before accepting byte ``limit + 1``, :class:`Cancelled` when ``cancel``
    (or ``stop``) is set, :class:`Transient` when the connection fails or times out, and whatever
    ``sink`` or ``pace`` raise.
    """
    raw = response.raw
    received = 0
    try:
        while True:
            if cancel.is_set() or (stop is not None and stop.is_set()):
                raise Cancelled
            chunk = raw.read1(min(READ_SIZE, limit - received + 1), decode_content=True)
            if not chunk:
                return received
            if received + len(chunk) > limit:
                raise TooLong(limit)
            sink(chunk)
            received += len(chunk)
            pace.received(len(chunk))
    except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
        raise Transient("the server stopped sending") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError, ConnectionError):
        raise Transient("the connection dropped mid-transfer") from None
