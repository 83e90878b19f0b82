"""A fixed set of threads that runs tasks by priority: the one bounded pool a whole batch of downloads shares.

Ranges of large files are asked for first (priority 0) and whole small files fill the threads
around them, so no connection sits idle while work is queued and a large file never waits behind
a long queue of small ones. Tasks must not wait for other tasks of the same pool (the large files'
coordinators run outside it for that reason), so it cannot deadlock.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import Any, TypeVar

from kmenv.fetch.body import Cancelled

__all__ = ["PriorityPool", "Slots", "current_cancel", "map_interruptible"]

T = TypeVar("T")
R = TypeVar("R")
_WAIT_SLICE_SECONDS = 0.2  # how often the waiting thread wakes, so Ctrl-C lands promptly
_ambient = threading.local()  # the cancel event of the map_interruptible task running on this thread


class PriorityPool:
    """``threads`` workers started on demand; :meth:`submit` returns a standard :class:`Future`."""

    def __init__(self, threads: int, *, name: str = "kmenv-fetch") -> None:
        self._limit = max(1, threads)
        self._name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[int, int, Future[Any], Callable[..., Any], tuple[Any, ...]]] = []
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any, priority: int = 1) -> Future[Any]:
        """Queue ``fn(*args)``; lower ``priority`` runs first, equal ones in submission order."""
        future: Future[Any] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            heapq.heappush(self._heap, (priority, next(self._order), future, fn, args))
            if len(self._heap) > self._idle and len(self._threads) < self._limit:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify()
        return future

    def bound(self, priority: int) -> Callable[..., Future[Any]]:
        """A ``submit`` with ``priority`` fixed, for code that only knows ``submit(fn, *args)``."""
        return lambda fn, *args: self.submit(fn, *args, priority=priority)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._heap and not self._closed:
                    self._idle += 1
                    self._cond.wait()
                    self._idle -= 1
                if not self._heap:
                    return
                _, _, future, fn, args = heapq.heappop(self._heap)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, *, cancel_queued: bool = True) -> None:
        """Stop taking tasks, cancel the queued ones (by default), and wait for the running ones."""
        with self._cond:
            self._closed = True
            if cancel_queued:
                for _, _, future, _, _ in self._heap:
                    future.cancel()
                self._heap.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()


def map_interruptible(
    fn: Callable[[T, threading.Event], R],
    items: Sequence[T],
    *,
    workers: int,
    name: str = "kmenv-fetch",
    parent: threading.Event | None = None,
) -> list[R]:
    """``[fn(item, cancel) for item in items]`` on ``workers`` threads, for callers whose tasks download.

    A plain executor, on Ctrl-C, waits for every running task to finish (a whole file each); here the
    waiting thread wakes every fraction of a second, and on Ctrl-C or the first failure sets ``cancel``,
    which downloads honour between receives, waits for them to stop and raises. A ``parent`` event
    (the ``cancel`` of an enclosing call; found by itself when this runs inside another call's task)
    being set stops this one too. Results keep the order of ``items``.
    """
    cancel = threading.Event()
    parents = [e for e in (parent, current_cancel(None)) if e is not None]

    def task(item: T) -> R:
        _ambient.cancel = cancel  # a map_interruptible inside fn finds its parent here
        try:
            return fn(item, cancel)
        finally:
            _ambient.cancel = None

    pool = PriorityPool(max(1, min(workers, len(items))), name=name)
    futures = [pool.submit(task, item) for item in items]
    try:
        pending: set[Future[Any]] = set(futures)
        while pending:
            done, pending = wait(pending, timeout=_WAIT_SLICE_SECONDS, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                break
            if any(e.is_set() for e in parents):
                raise Cancelled
    finally:
        cancel.set()  # harmless when all is done
        pool.shutdown()
    errors = [e for f in futures if not f.cancelled() and (e := f.exception()) is not None]
    if errors:  # the first real failure, not a task stopped because of it
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
    return [f.result() for f in futures]


def current_cancel(default: threading.Event | None) -> threading.Event | None:
    """The cancel event of the :func:`map_interruptible` task running on this thread, else ``default``.

    Lets a download deep inside such a task (a registry learning files for a lock) stop on Ctrl-C
    without every layer in between passing the event along.
    """
    found = getattr(_ambient, "cancel", None)
    return found if isinstance(found, threading.Event) else default


class Slots:
    """At most ``count`` downloads at once among every caller sharing this (one budget for a whole job).

    Callers that each run their own threads (the files of several models learnt at once) take a
    slot around each download, so the connections stay bounded however the work is nested.
    """

    def __init__(self, count: int) -> None:
        self._semaphore = threading.BoundedSemaphore(max(1, count))

    @contextlib.contextmanager
    def hold(self, cancel: threading.Event) -> Iterator[None]:
        """One slot for the ``with`` body; waiting for it stops with :class:`Cancelled` once ``cancel`` is set."""
        while not self._semaphore.acquire(timeout=_WAIT_SLICE_SECONDS / 2):
            if cancel.is_set():
                raise Cancelled
        try:
            yield
        finally:
            self._semaphore.release()
