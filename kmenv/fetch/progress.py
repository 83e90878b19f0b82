"""Download progress as events, so the fetcher never imports a UI (the CLI renders them with rich)."""

from __future__ import annotations

import threading

__all__ = ["NullProgress", "ProgressSink"]


class ProgressSink:
    """Receives download progress; every event does nothing unless a subclass says otherwise.

    Order: one :meth:`begin`; then per file downloaded :meth:`start`, any number of
    :meth:`advance`, :meth:`finish`; then one :meth:`end` (also after a failure). Files already
    in the store get no events. ``fetch_all`` serialises the calls, so a sink needs no locking,
    but they come from worker threads and should return quickly. A sink overrides only the
    events it shows (a plain log needs no :meth:`start`).
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


class NullProgress(ProgressSink):
    """A sink that shows nothing: the default when the caller passes none."""


class SerialProgress(ProgressSink):
    """Forwards events to another sink one at a time, so sinks need not be thread-safe."""

    def __init__(self, sink: ProgressSink) -> None:
        self._lock = threading.Lock()
        self._sink = sink

    def begin(self, files: int, total_bytes: int) -> None:
        with self._lock:
            self._sink.begin(files, total_bytes)

    def start(self, label: str, total: int) -> None:
        with self._lock:
            self._sink.start(label, total)

    def advance(self, label: str, nbytes: int) -> None:
        if nbytes:
            with self._lock:
                self._sink.advance(label, nbytes)

    def finish(self, label: str) -> None:
        with self._lock:
            self._sink.finish(label)

    def end(self) -> None:
        with self._lock:
            self._sink.end()
