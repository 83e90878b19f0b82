"""The one retry policy: how many tries, how long between them, which answers retry, and Retry-After."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from kmenv.fetch import RetryPolicy
from kmenv.fetch.retry import SERVER_ERRORS, TRANSIENT_STATUSES, retry_after


def test_waits_double_from_the_backoff_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=6, backoff=0.5, cap=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_keeps_each_wait_between_half_and_all_of_it() -> None:
    policy = RetryPolicy(backoff=1.0, jitter=True)
    rng = random.Random(7)
    waits = [policy.delay(3, rng=rng) for _ in range(200)]
    assert all(2.0 <= w <= 4.0 for w in waits) and len(set(waits)) > 1


def test_attempts_count_the_first_try() -> None:
    policy = RetryPolicy(attempts=3)
    assert policy.retries == 2
    assert [policy.gives_up(n) for n in range(4)] == [False, False, False, True]
    assert RetryPolicy().with_retries(-2).attempts == 1
    assert RetryPolicy(backoff=0.5).with_retries(1, backoff=-1).backoff == 0.0
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


def test_retry_after_is_honoured_only_when_the_policy_says_so() -> None:
    plain = RetryPolicy(backoff=0.5)
    honouring = RetryPolicy(backoff=0.5, honour_retry_after=True, max_retry_after=60)
    assert plain.delay(1, asked=30) == 0.5 and not plain.refuses_wait(3600)
    assert honouring.delay(1, asked=30) == 30 and honouring.delay(1) == 0.5
    assert honouring.refuses_wait(61) and not honouring.refuses_wait(60) and not honouring.refuses_wait(None)


def test_which_statuses_retry() -> None:
    assert RetryPolicy().retries_status(503) and not RetryPolicy().retries_status(501)
    assert {408, 429} <= TRANSIENT_STATUSES and not RetryPolicy().retries_status(404)
    assert RetryPolicy(statuses=frozenset({429}) | SERVER_ERRORS).retries_status(501)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"Retry-After": "1.5"}) == 1.5
    assert retry_after({}) is None and retry_after({"Retry-After": "soon"}) is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=100), usegmt=True)
    assert 90 <= (retry_after({"Retry-After": later}) or 0) <= 100
    earlier = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=100), usegmt=True)
    assert retry_after({"Retry-After": earlier}) == 0.0
