"""Hashing a blob's bytes off the receiving threads, and every digest of them on a core of its own.

sha256 and md5 (Kaggle's) each run well under a GiB/s on one core; one after the other they halve
what a fast link delivers. hashlib releases the GIL on large updates, so :func:`update_all` runs the
digests besides sha256 on helper threads while sha256 runs in the caller, and :class:`HashPipe`
moves all of it off the thread that writes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor
    from typing import Any

__all__ = ["HashPipe", "update_all"]

_PIPE_DEPTH = 8  # chunks waiting to be hashed, per writer
_PARALLEL_BYTES = 256 << 10  # below this, handing a chunk to another thread costs more than it saves
_side_lock = threading.Lock()
_side: list[ThreadPoolExecutor] = []


def _helpers() -> ThreadPoolExecutor:
    with _side_lock:
        if not _side:
            from concurrent.futures import ThreadPoolExecutor  # with logging: only once bytes are hashed

            _side.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="kmenv-digest"))
        return _side[0]


def update_all(hashers: dict[str, Any], data: bytes | memoryview) -> None:
    """Feed ``data`` to every hasher; with more than one, the others run in parallel with sha256.

    Returns once all of them have taken ``data`` (the caller may reuse its buffer).
    """
    if len(hashers) == 1 or len(data) < _PARALLEL_BYTES:
        for hasher in hashers.values():
            hasher.update(data)
        return
    others = [_helpers().submit(h.update, data) for name, h in hashers.items() if name != "sha256"]
    try:
        hashers["sha256"].update(data)
    finally:
        for future in others:
            future.result()


class HashPipe:
    """Hashes written chunks on a thread of its own, so hashing overlaps receiving and writing.

    sha256 runs at well under a GiB/s on one core, about what a disk takes; done inline it
    halves a fast download. hashlib releases the GIL on large updates, so the
    two run in parallel. The queue is short (``_PIPE_DEPTH`` chunks): memory stays constant.
    """

    def __init__(self, update: Callable[[bytes | memoryview], None]) -> None:
        self._update = update
        self._queue: queue.Queue[bytes | memoryview | Callable[[], None] | None] = queue.Queue(maxsize=_PIPE_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kmenv-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            try:
                if data is None:
                    return
                if self._error is None:
                    if callable(data):
                        data()
                    else:
                        self._update(data)
            except BaseException as exc:  # reported to the writer at the next drain
                self._error = exc
            finally:
                self._queue.task_done()

    def feed(self, data: bytes | memoryview) -> None:
        """Hash ``data`` after everything fed before it; it must not change afterwards (no copy is made)."""
        self._queue.put(data)

    def call(self, task: Callable[[], None]) -> None:
        """Run ``task`` (hashing bytes it reads itself) in order with the chunks fed."""
        self._queue.put(task)

    def drain(self) -> None:
        """Wait until every chunk fed so far is hashed."""
        self._queue.join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()
