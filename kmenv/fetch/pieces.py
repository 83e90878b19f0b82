"""Which bytes each request of a split download asks for: pure arithmetic on ranges, no I/O, no clock.

A :class:`Piece` is one request's range; the download's coordinator keeps the running ones and a queue of
bytes no request asks for yet, and calls these under its lock:

- :func:`split_off`: half of the largest running range for a new connection (aria2's way: the owner
  keeps going to the middle). Used for the second connection, and at the end when nothing is queued;
- :func:`carve`: once every connection may join, each running range is cut short and its rest queued;
- :func:`take`: the next piece from the front of the queue, a share of what is queued that shrinks as
  the file nears its end (:func:`piece_size`).

Why the queue is handed out front to back: sha256 follows the file in order, so bytes ahead of the first
unfinished range wait to be hashed. Sixteen equal ranges finish together and leave fifteen sixteenths of
the file to be read back after the last byte; pieces taken in order, each ``1 / (2 * connections)`` of
the rest, finish nearly in order (a piece taken at time t of a download ending at T ends near (t + T) / 2)
and the last ones are small, so the hash keeps pace, for about ``2 * connections * ln(rest / least)`` plus
``2 * connections`` requests instead of ``connections``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kmenv.fetch.body import READ_SIZE

__all__ = ["Piece", "carve", "gaps", "piece_size", "split_off", "take"]


@dataclass
class Piece:
    """The range ``[start, end)`` one connection fetches; ``at`` is where its bytes on disk stop.

    ``end`` only ever moves closer, when the rest is handed to another connection (under the download's
    lock); ``failures`` so far for it. Queued bytes no request asks for yet are Pieces too (``at == start``).
    """

    start: int
    end: int
    at: int = -1
    failures: int = 0

    def __post_init__(self) -> None:
        if self.at < 0:
            self.at = self.start


def gaps(done: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The ranges of ``[0, size)`` that ``done`` (merged, sorted ``[start, end)`` ranges) leaves missing."""
    missing, at = [], 0
    for start, end in done:
        if start > at:
            missing.append((at, start))
        at = max(at, end)
    if at < size:
        missing.append((at, size))
    return missing


def piece_size(unasked: int, connections: int, least: int) -> int:
    """How much the next request asks for: ``1 / (2 * connections)`` of the ``unasked`` bytes, at least ``least``."""
    return max(least, -(-unasked // (2 * connections)))


def take(pending: deque[Piece], connections: int, least: int) -> Piece:
    """The next piece: the front of the first queued range (a retried piece stays whole, with its failures)."""
    front = pending[0]
    size = piece_size(sum(p.end - p.at for p in pending), connections, least)
    if front.failures or front.at != front.start or front.end - front.start <= size + least:
        return pending.popleft()
    piece = Piece(front.start, front.start + size)
    front.start = front.at = piece.end
    return piece


def carve(running: list[Piece], connections: int, least: int) -> list[Piece]:
    """Cut each running range to one piece from where its bytes stop; their rests, in file order, to queue.

    An owner keeps at least one read, so the read it may be writing right now stays inside its own range.
    """
    size = max(READ_SIZE, piece_size(sum(p.end - p.at for p in running), connections, least))
    rest: list[Piece] = []
    for owner in sorted(running, key=lambda p: p.at):
        if owner.end - owner.at > size + least:
            rest.append(Piece(owner.at + size, owner.end))
            owner.end = owner.at + size
    return rest


def split_off(running: list[Piece], least: int) -> Piece | None:
    """Half of the largest range still running, for another connection; None when none has ``2 * least`` left.

    The owner's end moves to the middle, at least one read past where its bytes stop (``least`` is at least
    one read), so the read it may be writing right now still lands inside its own range.
    """
    if not running:
        return None
    owner = max(running, key=lambda p: p.end - p.at)
    half = (owner.end - owner.at) // 2
    if half < least:
        return None
    middle = owner.at + half
    piece = Piece(middle, owner.end)
    owner.end = middle
    return piece
