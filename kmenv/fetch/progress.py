"""Download progress as events, so the fetcher never imports a UI (the CLI renders them with rich)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

__all__ = ["NullProgress", "ProgressSink"]


class ProgressSink(Protocol):
    """Receives download progress.

    Order: one :meth:`begin`; then per file downloaded :meth:`start`, any number of
    :meth:`advance`, :meth:`finish`; then one :meth:`end` (also after a failure). Files already
    in the store get no events. ``fetch_all`` serialises the calls, so a sink needs no locking,
    but they come from worker threads and should return quickly. A sink may leave out events
    it does not show; they are skipped.
    """

    def begin(self, files: int, total_bytes: int) -> None:
        """Work is about to start: ``files`` downloads totalling ``total_bytes``."""

    def start(self, label: str, total: int) -> None:
        """A file's download starts; ``total`` is its size in bytes."""

    def advance(self, label: str, nbytes: int) -> None:
        """``nbytes`` more of the file are on disk (bytes kept from an earlier run included).

        Negative when a download restarts from zero and earlier bytes no longer count.
        """

    def finish(self, label: str) -> None:
        """The file is verified and in the store."""

    def end(self) -> None:
        """No more events follow."""


class NullProgress:
    """A sink that ignores everything; subclass it to handle only the events you need."""

    def begin(self, files: int, total_bytes: int) -> None:
        pass

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, label: str, nbytes: int) -> None:
        pass

    def finish(self, label: str) -> None:
        pass

    def end(self) -> None:
        pass


class SerialProgress:
    """Forwards events to another sink one at a time, so sinks need not be thread-safe.

    Events the sink does not define are skipped, so a sink may implement only what it shows
    (a plain log needs no :meth:`~ProgressSink.begin`).
    """

    def __init__(self, sink: ProgressSink) -> None:
        self._lock = threading.Lock()
        self._begin: Callable[[int, int], None] | None = getattr(sink, "begin", None)
        self._start: Callable[[str, int], None] | None = getattr(sink, "start", None)
        self._advance: Callable[[str, int], None] | None = getattr(sink, "advance", None)
        self._finish: Callable[[str], None] | None = getattr(sink, "finish", None)
        self._end: Callable[[], None] | None = getattr(sink, "end", None)

    def begin(self, files: int, total_bytes: int) -> None:
        if self._begin is not None:
            with self._lock:
                self._begin(files, total_bytes)

    def start(self, label: str, total: int) -> None:
        if self._start is not None:
            with self._lock:
                self._start(label, total)

    def advance(self, label: str, nbytes: int) -> None:
        if nbytes and self._advance is not None:
            with self._lock:
                self._advance(label, nbytes)

    def finish(self, label: str) -> None:
        if self._finish is not None:
            with self._lock:
                self._finish(label)

    def end(self) -> None:
        if self._end is not None:
            with self._lock:
                self._end()
