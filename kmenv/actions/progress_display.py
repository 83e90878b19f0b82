"""How download progress looks, shared by the CLI and the Python API: bars on a terminal or in Jupyter, lines in logs.

:class:`BarProgress` draws a rich bar per active file and a total with speed and time left on any rich
console (a terminal, or a notebook: rich renders there through ipywidgets); :class:`PlainProgress` writes a
total every few seconds, for CI logs. Both speak one family of units (:func:`~kmenv.values.candidates.format_size`:
KiB, MiB, GiB) and measure speed from bytes that arrived, never from the jumps a resumed or restarted download
makes (:meth:`~kmenv.fetch.progress.ProgressSink.moved`), so a speed or a count is never negative. rich is
imported only when a bar is drawn.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kmenv.actions.install import InstallReporter
from kmenv.fetch.progress import ProgressSink
from kmenv.values.candidates import format_size
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["BarProgress", "ConsoleReporter", "PlainProgress", "Rate", "duration"]

Line = Callable[[str], None]


def duration(seconds: float) -> str:
    """``34 s``, ``2 min 05 s``, ``1 h 03 min``: how long is left."""
    seconds = int(max(seconds, 0) + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _time_left(done: int, total: int, rate: float | None) -> float | None:
    """Seconds until ``total``, or None when it cannot be told (no speed yet, or more arrived than announced)."""
    if not rate or rate <= 0 or total <= done:
        return None
    return (total - done) / rate


class Rate:
    """Bytes per second that arrived over the last ``window`` seconds (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, window: float = 5.0) -> None:
        self.clock = clock
        self.window = window
        self.started = clock()
        self._samples: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Measure from now: the time before the first download (resolving, say) is no slow transfer."""
        with self._lock:
            self.started = self.clock()
            self._samples.clear()

    def add(self, nbytes: int) -> None:
        if nbytes > 0:
            with self._lock:
                self._samples.append((self.clock(), nbytes))

    def per_second(self) -> float | None:
        """None until half a second has passed: a speed from one sample says nothing."""
        now = self.clock()
        since = max(self.started, now - self.window)
        with self._lock:
            while self._samples and self._samples[0][0] < since:
                self._samples.popleft()
            arrived = sum(n for _, n in self._samples)
        span = now - since
        return arrived / span if span >= 0.5 else None


class PlainProgress(ProgressSink):
    """A total every ``every`` seconds (and each finished file through ``detail``): readable in CI logs."""

    verbs = ("fetch", "fetched")  # ("upload", "uploaded") for a mirror

    def __init__(
        self, note: Line, detail: Line | None = None, every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.note = note
        self.detail = detail
        self.every = every
        self.clock = clock
        self.lock = threading.Lock()
        self.total = self.done = self.arrived = 0
        self.files = self.finished = 0
        self.started = self.last = clock()

    def begin(self, files: int, total_bytes: int) -> None:
        self.total, self.files = total_bytes, files
        self.started = self.last = self.clock()
        self.note(f"  {counted(files, 'file')}, {format_size(total_bytes)} to {self.verbs[0]}")

    def more(self, files: int, total_bytes: int) -> None:
        with self.lock:
            self.files += files
            self.total += total_bytes

    def advance(self, label: str, nbytes: int) -> None:
        with self.lock:
            self.done += nbytes
            self.arrived += max(nbytes, 0)  # a negative advance is a restart, not a transfer
            self._maybe_report()

    def moved(self, label: str, nbytes: int) -> None:
        with self.lock:
            self.done += nbytes

    def _maybe_report(self) -> None:
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.note("  " + self.status(now))

    def status(self, now: float) -> str:
        """``1.2 GiB of 4.0 GiB (30%), 3 of 7 files, 85.0 MiB/s, 34 s left``."""
        rate = self.arrived / max(now - self.started, 1e-6)
        done = max(self.done, 0)
        of = f" of {format_size(self.total)}" if self.total >= done else ""
        percent = f" ({100 * done // self.total}%)" if self.total >= done and self.total else ""
        left = _time_left(done, self.total, rate)
        when = f", {duration(left)} left" if left is not None else ""
        return (
            f"{format_size(done)}{of}{percent}, "
            f"{self.finished} of {counted(self.files, 'file')}, {format_size(int(rate))}/s{when}"
        )

    def finish(self, label: str) -> None:
        with self.lock:
            self.finished += 1
        if self.detail is not None:
            self.detail(f"  {self.verbs[1]} {label}")

    def end(self) -> None:
        now = self.clock()
        if self.files and now - self.started >= self.every and now > self.last:  # a closing total, once
            self.note("  " + self.status(now))

    def close(self) -> None:
        pass


class BarProgress(ProgressSink):
    """A bar per active file plus a total with speed and time left, on ``console``; shown from :meth:`begin`."""

    def __init__(
        self, console: Console, *, transient: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        size, speed, left = _columns()
        self.progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            size,
            speed,
            left,
            console=console,
            transient=transient,
        )
        self.clock = clock
        self.lock = threading.Lock()
        self.tasks: dict[str, Any] = {}
        self.overall = self.progress.add_task("total", total=None, rate=Rate(clock))
        self.files = self.finished = 0
        self.started = False

    def begin(self, files: int, total_bytes: int) -> None:
        with self.lock:
            self.files = files
            self.progress.update(self.overall, total=total_bytes, description=self._total_text())
            self._show()

    def _show(self) -> None:
        """Start drawing (at :meth:`begin`, or at the first event of a caller that sends none)."""
        if not self.started:
            self.started = True
            overall = self._task(self.overall)
            if overall is not None:
                overall.fields["rate"].restart()
            self.progress.start()

    def more(self, files: int, total_bytes: int) -> None:
        with self.lock:
            self.files += files
            task = self._task(self.overall)
            total = (task.total or 0) + total_bytes if task is not None else total_bytes
            self.progress.update(self.overall, total=total, description=self._total_text())

    def start(self, label: str, total: int) -> None:
        with self.lock:
            self._show()
            self.tasks[label] = self.progress.add_task(label, total=total or None, rate=Rate(self.clock))

    def advance(self, label: str, nbytes: int) -> None:
        self._count(label, nbytes, arrived=nbytes > 0)

    def moved(self, label: str, nbytes: int) -> None:
        self._count(label, nbytes, arrived=False)

    def _count(self, label: str, nbytes: int, *, arrived: bool) -> None:
        with self.lock:
            self._show()
            for task_id in (self.tasks.get(label), self.overall):
                if task_id is None:
                    continue
                task = self._task(task_id)
                if task is None:
                    continue
                if arrived:
                    task.fields["rate"].add(nbytes)
                self.progress.update(task_id, completed=max(task.completed + nbytes, 0))

    def _task(self, task_id: Any) -> Any:
        return next((t for t in self.progress.tasks if t.id == task_id), None)

    def finish(self, label: str) -> None:
        with self.lock:
            task = self.tasks.pop(label, None)
            if task is not None:
                self.progress.remove_task(task)  # only active files keep a bar
            self.finished += 1
            self.progress.update(self.overall, description=self._total_text())

    def _total_text(self) -> str:
        return f"total ({self.finished} of {counted(self.files, 'file')})"

    def end(self) -> None:
        self.close()

    def close(self) -> None:
        if self.started:
            self.started = False
            self.progress.stop()


def _columns() -> tuple[Any, Any, Any]:
    """Size, speed and time-left columns in kmenv's units (rich's own speak MB, decimal, beside our MiB)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Size(ProgressColumn):
        def render(self, task: Any) -> Text:
            done = format_size(int(max(task.completed, 0)))
            known = task.total is not None and task.total >= task.completed
            return Text(f"{done}/{format_size(int(task.total))}" if known else done, style="progress.download")

    class Speed(ProgressColumn):
        def render(self, task: Any) -> Text:
            rate = task.fields["rate"].per_second()
            return Text("?" if rate is None else f"{format_size(int(rate))}/s", style="progress.data.speed")

    class Left(ProgressColumn):
        def render(self, task: Any) -> Text:
            total = int(task.total) if task.total is not None else 0
            left = _time_left(int(task.completed), total, task.fields["rate"].per_second())
            return Text("" if left is None else f"{duration(left)} left", style="progress.remaining")

    return Size(), Speed(), Left()


class ConsoleReporter(InstallReporter):
    """``progress=True`` of the Python API: the CLI's bars in a terminal or a notebook, plain lines on stderr otherwise.

    ``console`` (default: rich's own for stderr, which detects Jupyter) is where bars go; a notebook keeps the
    last picture of each batch, a terminal clears it when the batch ends.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console
        self._sinks: list[PlainProgress | BarProgress] = []

    def downloads(self) -> ProgressSink | None:
        if self.console is None:
            from rich.console import Console

            self.console = Console(stderr=True)
        sink: PlainProgress | BarProgress
        if self.console.is_jupyter or (self.console.is_terminal and not self.console.is_dumb_terminal):
            sink = BarProgress(self.console, transient=not self.console.is_jupyter)
        else:
            sink = PlainProgress(_stderr_line)
        self._sinks.append(sink)
        return sink

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()


def _stderr_line(text: str) -> None:
    import sys

    print(text, file=sys.stderr, flush=True)
