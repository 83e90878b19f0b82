"""What learning sha256s downloaded: Kaggle publishes none, so the registry fetches files to answer ``files``.

Those bytes are real downloads, and the usage ledger records them (:meth:`Registry.take_transfers`),
so a fresh install whose lock did the downloading still shows what it cost. Standard library only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence

from kmenv.fetch.progress import ProgressSink
from kmenv.registry.base import Transfer
from kmenv.values.handles import Handle

__all__ = ["ByteCount", "TransferLog"]


class ByteCount(ProgressSink):
    """Counts the files and bytes downloads report (from worker threads), passing every event on to ``shown``.

    ``shown`` is where a person watches them (see :meth:`TransferLog.show`); it is called under no lock.
    """

    def __init__(self, shown: ProgressSink | None = None) -> None:
        self.files = self.nbytes = 0
        self._lock = threading.Lock()
        self._shown = shown or ProgressSink()

    def begin(self, files: int, total_bytes: int) -> None:
        self._shown.begin(files, total_bytes)

    def start(self, label: str, total: int) -> None:
        with self._lock:
            self.files += 1
        self._shown.start(label, total)

    def advance(self, label: str, nbytes: int) -> None:
        with self._lock:
            self.nbytes += nbytes
        self._shown.advance(label, nbytes)

    def moved(self, label: str, nbytes: int) -> None:
        with self._lock:
            self.nbytes += nbytes  # as before moves had their own event: resumed bytes count for the ledger
        self._shown.moved(label, nbytes)

    def finish(self, label: str) -> None:
        self._shown.finish(label)

    def end(self) -> None:
        self._shown.end()


class TransferLog:
    """The transfers of one registry until they are taken; safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: list[Transfer] = []
        self._shown: ProgressSink | None = None

    def show(self, sink: ProgressSink | None) -> None:
        """Pass the events of batches measured from now on to ``sink`` too (None: to nothing); it must be
        thread-safe, since batches run at once (:class:`~kmenv.fetch.progress.GrowingProgress` is)."""
        self._shown = sink

    @contextlib.contextmanager
    def measure(self, handle: Handle, url: str, *, files: int | None = None) -> Iterator[ByteCount]:
        """Count one batch of downloads (wall time included), kept even when it fails part way.

        ``files`` replaces the count of downloads (one archive holds many files).
        """
        meter, started = ByteCount(self._shown), time.monotonic()
        try:
            yield meter
        finally:
            if meter.nbytes > 0:
                count = meter.files if files is None else files
                with self._lock:
                    self._done.append(Transfer(handle, count, meter.nbytes, time.monotonic() - started, url))

    def take(self) -> Sequence[Transfer]:
        """Every transfer since the last call."""
        with self._lock:
            taken, self._done = self._done, []
        return taken
