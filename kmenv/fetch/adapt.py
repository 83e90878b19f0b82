"""How many connections one large file deserves, decided from the speed its bytes actually arrive at.

Splitting pays only where each connection is capped (a CDN, a signed-URL object store): there N
connections carry N times the bytes. On a fast link, or a server whose whole pipe one connection
already fills, extra connections only cost requests (Kaggle bills and rate-limits them) and contend
for the cores. So a file starts as one stream, and :class:`Growth` is asked every tick:

- after ``window`` seconds it measures the rate; if the rest of the file would still take longer
  than ``horizon`` seconds at that rate, a second connection joins (one request: the experiment).
  A borderline case (the rest would take under ``3 * horizon``) is measured for up to ``4 * window``
  first: a fast stream's first tenth of a second is often its slowest (page cache, writeback), and a
  needless split costs more than the wait;
- after each step it measures again, and takes the next step (every connection allowed) only if
  the aggregate rate rose by at least ``gain`` (connections that add no speed are not worth their
  requests); once a step does not pay, or the file is nearly done, the count stays where it is.

Two steps, not a slow ramp: against a capped server every tenth of a second spent on few
connections is lost for good, and a second connection already tells capped from saturated.

Pure arithmetic on the numbers it is given (no clock, no I/O), so the decisions are tested directly.
"""

from __future__ import annotations

__all__ = ["Growth"]

_CLEAR = 3.0  # the rest taking this many horizons decides at once
_PATIENCE = 4.0  # a borderline first decision waits up to this many windows


class Growth:
    """The connection count for one file: starts at 1 (or ``most`` at once when ``window`` is 0)."""

    def __init__(self, most: int, *, window: float, horizon: float, gain: float = 1.5) -> None:
        self._most = max(1, most)
        self._window = window
        self._horizon = horizon
        self._gain = gain
        self.connections = 1 if window > 0 else self._most
        self._frozen = self.connections >= self._most
        self._mark: tuple[float, int] | None = None  # (time, bytes received) when this step started
        self._before: float | None = None  # the rate of the step before, once one was taken
        #: The rates measured, one per completed window (for messages and tests).
        self.rates: list[float] = []

    @property
    def deciding(self) -> bool:
        """True while the count may still change (the caller should look more often than once a tick)."""
        return not self._frozen

    def update(self, now: float, received: int, remaining: int, flowing: int = 1) -> int:
        """The connections wanted now, given ``received`` bytes so far (this run), ``remaining`` still to fetch,
        and how many connections have delivered bytes so far (``flowing``).

        A step's window starts once each of its connections delivers: a new connection's handshake and
        slow start are not counted against it.
        """
        if self._frozen:
            return self.connections
        if self._mark is None:
            if flowing >= self.connections:
                self._mark = (now, received)
            return self.connections
        since, base = self._mark
        elapsed = now - since
        if elapsed < self._window:
            return self.connections
        rate = (received - base) / elapsed
        first = self._before is None
        borderline = rate * self._horizon < remaining < rate * self._horizon * _CLEAR
        if first and borderline and elapsed < self._window * _PATIENCE:
            return self.connections  # measure longer before spending a request
        self.rates.append(rate)
        if self._before is not None and rate < self._before * self._gain:
            self._frozen = True  # the last step bought no speed: more would not either
        elif rate > 0 and remaining <= rate * self._horizon:
            self._frozen = True  # the rest arrives soon enough as it is
        else:
            self._before = rate
            self.connections = min(self._most, 2) if self.connections == 1 else self._most
            self._frozen = self.connections >= self._most
            self._mark = None
        return self.connections
