"""Download progress as events, so the fetcher never imports a UI (the CLI renders them with rich)."""

from __future__ import annotations

import threading

__all__ = ["GrowingProgress", "NullProgress", "ProgressSink", "SerialProgress"]


class ProgressSink:
    """Receives download progress; every event does nothing unless a subclass says otherwise.

    Order: one :meth:`begin`; then per file downloaded :meth:`start`, any number of
    :meth:`advance`, :meth:`finish`; then one :meth:`end` (also after a failure). Files already
    in the store get no events. ``fetch_all`` serialises the calls, so a sink needs no locking,
    but they come from worker threads and should return quickly. A sink overrides only the
    events it shows (a plain log needs no :meth:`start`).

    Two events were added later, each with a default that keeps older sinks right: :meth:`more`
    (work that joins after :meth:`begin`; ignored by default) and :meth:`moved` (bytes counted
    without being transferred now; :meth:`advance` by default).
    """

    def begin(self, files: int, total_bytes: int) -> None:
        """Work is about to start: ``files`` downloads totalling ``total_bytes``."""

    def start(self, label: str, total: int) -> None:
        """A file's download starts; ``total`` is its size in bytes."""

    def advance(self, label: str, nbytes: int) -> None:
        """``nbytes`` more of the file are on disk (bytes kept from an earlier run included).

        Negative when a download restarts from zero and earlier bytes no longer count. The fetcher
        reports such jumps (and bytes resumed from an earlier run) through :meth:`moved`, whose
        default comes here; a sink that measures speed overrides it, so a jump is no transfer.
        """

    def moved(self, label: str, nbytes: int) -> None:
        """The file's count moved by ``nbytes`` without bytes arriving: resumed from disk, or dropped on a restart."""
        self.advance(label, nbytes)

    def more(self, files: int, total_bytes: int) -> None:
        """``files`` downloads totalling ``total_bytes`` join the work after :meth:`begin` (a lock learning
        sha256s finds its downloads one by one)."""

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

    def moved(self, label: str, nbytes: int) -> None:
        if nbytes:
            with self._lock:
                self._sink.moved(label, nbytes)

    def more(self, files: int, total_bytes: int) -> None:
        with self._lock:
            self._sink.more(files, total_bytes)

    def finish(self, label: str) -> None:
        with self._lock:
            self._sink.finish(label)

    def end(self) -> None:
        with self._lock:
            self._sink.end()


class GrowingProgress(SerialProgress):
    """Several batches of downloads shown on one sink as one batch that grows.

    The first batch's :meth:`begin` begins the sink, later ones add to it (:meth:`ProgressSink.more`);
    the batches' own :meth:`end` is swallowed, and :meth:`close` ends the sink once, if it began. A lock
    that learns Kaggle sha256s starts downloads as it finds them, each its own batch: this shows them as
    one total. Thread-safe, as :class:`SerialProgress`.
    """

    def __init__(self, sink: ProgressSink) -> None:
        super().__init__(sink)
        self._begun = False

    def begin(self, files: int, total_bytes: int) -> None:
        with self._lock:
            if self._begun:
                self._sink.more(files, total_bytes)
            else:
                self._begun = True
                self._sink.begin(files, total_bytes)

    def end(self) -> None:
        """One batch ended; the sink ends with :meth:`close`."""

    def close(self) -> None:
        """No more batches: end the sink (when any batch began)."""
        with self._lock:
            if self._begun:
                self._begun = False
                self._sink.end()
