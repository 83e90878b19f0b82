"""Bounds on what a server may send: a small answer read whole within a size cap and a deadline, and a cap on a
download whose exact size is not known.

``response.content`` reads until the server stops: an endless body fills memory, and a server that sends one
byte a second never trips the per-read timeout. :func:`read_body` reads what has arrived as it arrives, counts
it against ``limit`` (after decompression, so a gzip bomb counts at its real size) and stops at ``deadline``;
each is a one-line :class:`~kmenv.errors.RegistryError`. The response must have been sent with ``stream=True``.
:func:`refuse_past` is the same cap for a download into the store (a Kaggle version's archive, whose size only
its files' listed sizes bound).
"""

from __future__ import annotations

import time

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from kmenv.errors import IntegrityError, NetworkError, RegistryDocumentError
from kmenv.store.writer import BlobWriter

__all__ = ["CHUNK_BYTES", "read_body", "refuse_past"]

#: The most bytes asked of the connection at once; a read returns whatever has arrived, up to this.
CHUNK_BYTES = 64 * 1024
_TOO_LARGE_HINT = "check that the url serves the registry's files; a registry document is at most a few MiB"


def _declared_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 20 else None


def read_body(response: requests.Response, *, limit: int, deadline: float, label: str) -> bytes:
    """The whole body of ``response``; refused past ``limit`` bytes or once ``time.monotonic()`` passes ``deadline``.

    ``label`` names the request in messages (a URL without credentials). A ``Content-Length`` past ``limit``
    is refused before anything is read.
    """
    declared = _declared_length(response)
    if declared is not None and declared > limit:
        raise RegistryDocumentError(
            f"{label}: the server announces {declared:,} bytes; the most kmenv reads for a document is {limit:,}",
            hint=_TOO_LARGE_HINT,
        )
    raw = response.raw
    # urllib3 2.3+ returns what has arrived (read1); older ones block until the chunk is full.
    read = getattr(raw, "read1", None) or raw.read
    chunks: list[bytes] = []
    received = 0
    while True:
        if time.monotonic() > deadline:
            raise NetworkError(
                f"{label}: the answer did not arrive in time ({received:,} bytes so far)",
                hint="the server is sending very slowly; try again later, or pass --offline to use the cache",
            )
        try:
            chunk = read(CHUNK_BYTES, decode_content=True)
        except ReadTimeoutError as exc:  # what requests' own body reading turns them into, for the caller's retries
            raise requests.exceptions.ReadTimeout(str(exc)) from None
        except (ProtocolError, DecodeError) as exc:
            raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
        if not chunk:
            break
        received += len(chunk)
        if received > limit:
            raise RegistryDocumentError(
                f"{label}: the answer goes on past {limit:,} bytes, the most kmenv reads for a document",
                hint=_TOO_LARGE_HINT,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def refuse_past(limit: int | None, writing: list[BlobWriter], label: str) -> None:
    """Refuse (``IntegrityError``, so the store discards the partial) once the writer in ``writing`` holds more
    than ``limit`` bytes; called after each chunk is written, so at most one chunk past the cap is on disk."""
    if limit is None or not writing or writing[0].offset <= limit:
        return
    raise IntegrityError(
        f"{label}: the source sent more than {limit:,} bytes, the most expected of it; nothing was kept",
        hint="the server sent more than the version's files add up to; try again later, or report it to Kaggle",
    )
