"""Deadlines for one download: a minimum throughput over a sliding window, and an overall limit from its size.

A per-read timeout alone lets a server that sends one byte a second hold a download for ever; these
rules end it with one clear line while the bytes so far stay on disk for a resume. Several threads
(the ranges of one file) may report to one :class:`Pace`; it counts their bytes together.
"""

from __future__ import annotations

import threading
import time

from kmenv.errors import NetworkError

__all__ = ["Pace", "human_bytes"]


def human_bytes(n: float) -> str:
    """``1.5 MiB``-style text for messages."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover - the loop always returns


class Pace:
    """Fails a download that falls below ``min_speed`` bytes/s over ``window`` seconds, or outlives its deadline.

    The deadline is ``window + size / min_speed`` seconds from the first byte asked for (``size`` is the
    declared size, or none). ``min_speed`` 0 turns both rules off.
    """

    def __init__(self, label: str, *, size: int | None, min_speed: int, window: float) -> None:
        self.label = label
        self._min_speed = min_speed
        self._window = window
        self._lock = threading.Lock()
        now = time.monotonic()
        self._mark, self._since_mark = now, 0
        self._deadline = now + window + size / min_speed if (size is not None and min_speed) else None

    def check(self) -> None:
        """Raise :class:`~kmenv.errors.NetworkError` if the download is too slow or too late (thread-safe)."""
        self.received(0)

    def received(self, nbytes: int) -> None:
        """Count ``nbytes`` that just arrived and apply both rules (thread-safe)."""
        if not self._min_speed:
            return
        now = time.monotonic()
        with self._lock:
            self._since_mark += nbytes
            elapsed = now - self._mark
            if elapsed >= self._window:
                if self._since_mark < self._min_speed * elapsed:
                    self._fail(
                        f"{human_bytes(self._since_mark)} arrived in the last {elapsed:.0f} s, slower than "
                        f"the {human_bytes(self._min_speed)}/s minimum"
                    )
                self._mark, self._since_mark = now, 0
            if self._deadline is not None and now > self._deadline:
                self._fail("it took longer than its size allows at the minimum speed")

    def _fail(self, why: str) -> None:
        raise NetworkError(
            f"{self.label}: the download stalled: {why}",
            hint="the server is too slow or stuck; try again later (the bytes so far are kept and resume), "
            "or lower KMENV_MIN_SPEED / raise KMENV_SPEED_WINDOW for a slow link",
        )
