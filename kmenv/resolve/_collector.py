"""Hold off CPython's full garbage collections while a resolve runs; young collections carry on.

Why: a resolve builds memo tables (a few hundred thousand small objects for a thousand-model project)
that all live until it returns, and it makes no reference cycles of its own (a test checks), so a full
collection during it can free nothing the resolve made. CPython still runs one each time the objects
surviving young collections grow by a quarter of the old generation, and each walks every tracked object
in the process: the registries' indexes, the memo tables, everything the caller holds. On a 3,000-model
project that was about a quarter of lock time, and it grew faster than the number of models, because
the first full pass comes only once the memo reaches a quarter of what the process held before.
Freezing the objects that existed before the resolve (``gc.freeze``) was measured and helps little: the
memo tables themselves are what the passes keep rescanning. Young collections keep running, so short-lived
cycles made meanwhile (a registry client's, an exception's) are still freed at once; the deferred full
pass runs at the first young collection after the resolve returns.

Process-wide state, so holds are counted: overlapping resolves on several threads restore the caller's
thresholds only when the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["full_collections_held"]

#: A full-collection threshold no run reaches: the oldest generation's counter grows by one per young pass.
_NEVER = 2**30


class _Hold:
    """How many resolves hold full collections off, and the thresholds to give back after the last one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.saved = gc.get_threshold()


_HOLD = _Hold()


@contextmanager
def full_collections_held() -> Iterator[None]:
    """Within the block, only the young generations are collected (see the module docstring for why)."""
    with _HOLD.lock:
        if _HOLD.holders == 0:
            _HOLD.saved = gc.get_threshold()
            young, middle, *_ = _HOLD.saved
            gc.set_threshold(young, middle, _NEVER)
        _HOLD.holders += 1
    try:
        yield
    finally:
        with _HOLD.lock:
            _HOLD.holders -= 1
            if _HOLD.holders == 0:
                gc.set_threshold(*_HOLD.saved)
