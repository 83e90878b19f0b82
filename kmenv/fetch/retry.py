"""The one retry policy every HTTP caller follows: how often to try, how long to wait, which answers to retry.

Downloads, the Kaggle API client, the static registry and the Kaggle hash probe each run their own
loop (their errors read differently), but they ask a :class:`RetryPolicy` every question a loop has:
is this status worth another try, is there a try left, how long to wait before it, and whether a
server's ``Retry-After`` is honoured or too long to wait for. Their numbers differ on purpose and
live beside each caller as a policy value.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime

__all__ = ["SERVER_ERRORS", "TRANSIENT_STATUSES", "RetryPolicy", "retry_after"]

#: Answers that mean "not now" rather than "no": a timeout, rate limiting, a briefly broken server.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Every 5xx, for callers that retry any server error (an API's 501 may be a proxy's hiccup too).
SERVER_ERRORS = frozenset(range(500, 600))


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; before retry n wait ``min(cap, backoff * 2**(n-1))`` seconds.

    ``jitter`` scales each wait by a random factor in [0.5, 1], so many clients do not retry in
    step. With ``honour_retry_after`` a server's ``Retry-After`` replaces the computed wait, and
    one longer than ``max_retry_after`` is not waited for at all (the caller fails at once, saying
    so). ``statuses`` are the HTTP answers worth another try; every other answer is final.
    """

    attempts: int = 4
    backoff: float = 0.5
    cap: float = math.inf
    jitter: bool = False
    honour_retry_after: bool = False
    max_retry_after: float = 120.0
    statuses: frozenset[int] = TRANSIENT_STATUSES

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"a retry policy needs at least one attempt, not {self.attempts}")
        if self.backoff < 0:
            raise ValueError(f"backoff must not be negative, not {self.backoff}")

    def with_retries(self, retries: int, *, backoff: float | None = None) -> RetryPolicy:
        """This policy with ``retries`` tries after the first (negative means none) and, if given, another backoff."""
        return replace(
            self, attempts=max(0, retries) + 1, backoff=self.backoff if backoff is None else max(0.0, backoff)
        )

    @property
    def retries(self) -> int:
        """Tries after the first."""
        return self.attempts - 1

    def retries_status(self, status: int) -> bool:
        """Whether an HTTP answer with ``status`` is worth another try."""
        return status in self.statuses

    def gives_up(self, failures: int) -> bool:
        """Whether ``failures`` failed tries use up every attempt."""
        return failures >= self.attempts

    def refuses_wait(self, asked: float | None) -> bool:
        """Whether the server asked (``Retry-After``) for a wait longer than this policy waits."""
        return self.honour_retry_after and asked is not None and asked > self.max_retry_after

    def delay(self, retry: int, *, asked: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first); ``asked`` is any ``Retry-After``."""
        if self.honour_retry_after and asked is not None:
            return asked
        wait = min(self.cap, self.backoff * 2 ** (retry - 1))
        if self.jitter:
            wait *= (rng or random.Random()).uniform(0.5, 1.0)
        return float(wait)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), or None when absent or unreadable."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
