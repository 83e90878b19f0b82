"""Render download progress: rich bars on a terminal, periodic plain lines in logs, nothing with -q."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from kmenv.actions.install import InstallReporter
from kmenv.cli.ui import UI
from kmenv.fetch.progress import ProgressSink
from kmenv.values.candidates import format_size
from kmenv.values.wording import counted

__all__ = ["CliReporter"]


class _PlainSink(ProgressSink):
    """A total every few seconds (and each finished file with -v): readable in CI logs.

    ``advance`` may be negative when a download restarts from zero; the totals follow.
    """

    verbs = ("fetch", "fetched")  # ("upload", "uploaded") for a mirror

    def __init__(self, ui: UI, every: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ui = ui
        self.every = every
        self.clock = clock
        self.lock = threading.Lock()
        self.total = 0
        self.done = 0
        self.files = 0
        self.finished = 0
        self.started = self.last = clock()

    def begin(self, files: int, total_bytes: int) -> None:
        self.total, self.files = total_bytes, files
        self.started = self.last = self.clock()
        self.ui.note(f"  {counted(files, 'file')}, {format_size(total_bytes)} to {self.verbs[0]}")

    def advance(self, label: str, nbytes: int) -> None:
        with self.lock:
            self.done += nbytes
            now = self.clock()
            if now - self.last >= self.every:
                self.last = now
                self.ui.note("  " + self.status(now))

    def status(self, now: float) -> str:
        """``1.2 GiB of 4.0 GiB (30%), 3 of 7 files, 85.0 MiB/s, 34 s left``."""
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        percent = f" ({100 * self.done // self.total}%)" if self.total else ""
        left = f", {_duration((self.total - self.done) / rate)} left" if rate > 0 and self.total > self.done else ""
        return (
            f"{format_size(self.done)} of {format_size(self.total)}{percent}, "
            f"{self.finished} of {counted(self.files, 'file')}, {format_size(int(rate))}/s{left}"
        )

    def finish(self, label: str) -> None:
        with self.lock:
            self.finished += 1
        self.ui.detail(f"  {self.verbs[1]} {label}")

    def end(self) -> None:
        now = self.clock()
        if self.files and now - self.started >= self.every and now > self.last:  # a closing total, once
            self.ui.note("  " + self.status(now))

    def close(self) -> None:
        pass


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class _RichSink(ProgressSink):
    """A bar per active file plus a total with speed and ETA."""

    def __init__(self, ui: UI) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=ui.err_console,
            transient=True,
        )
        self.lock = threading.Lock()
        self.tasks: dict[str, Any] = {}
        self.overall = self.progress.add_task("total", total=0)
        self.files = self.finished = 0
        self.progress.start()

    def begin(self, files: int, total_bytes: int) -> None:
        self.files = files
        self.progress.update(self.overall, total=total_bytes, description=f"total (0 of {counted(files, 'file')})")

    def start(self, label: str, total: int) -> None:
        with self.lock:
            self.tasks[label] = self.progress.add_task(label, total=total)

    def advance(self, label: str, nbytes: int) -> None:
        with self.lock:
            task = self.tasks.get(label)
            if task is not None:
                self.progress.advance(task, nbytes)
            self.progress.advance(self.overall, nbytes)

    def finish(self, label: str) -> None:
        with self.lock:
            task = self.tasks.pop(label, None)
            if task is not None:
                self.progress.remove_task(task)  # only active files keep a bar
            self.finished += 1
            self.progress.update(self.overall, description=f"total ({self.finished} of {counted(self.files, 'file')})")

    def end(self) -> None:
        self.close()

    def close(self) -> None:
        self.progress.stop()


class CliReporter(InstallReporter):
    """Install hooks rendered for a person (or a CI log)."""

    def __init__(self, ui: UI) -> None:
        self.ui = ui
        self.sink: _PlainSink | _RichSink | None = None

    def phase(self, text: str) -> None:
        self.ui.note(f"{text}…")

    def relocked(self, reasons: Sequence[str]) -> None:
        for reason in reasons:
            self.ui.detail(f"  re-locking: {reason}")

    def skipped(self, notes: Sequence[str]) -> None:
        for note in notes:
            self.ui.note(f"  note: {note}")

    def downloads(self) -> Any:
        if self.ui.quiet or not self.ui.progress:
            return None
        self.close()  # a command that shows progress twice (fetch, then upload) starts afresh
        self.sink = _RichSink(self.ui) if self.ui.stderr_is_tty() and not self.ui.json else _PlainSink(self.ui)
        return self.sink

    def uploads(self) -> Any:
        """Upload progress (``kmenv mirror``), drawn as downloads are."""
        sink = self.downloads()
        if isinstance(sink, _PlainSink):
            sink.verbs = ("upload", "uploaded")
        return sink

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
