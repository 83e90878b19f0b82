"""Render download progress: rich bars on a terminal, periodic plain lines in logs, nothing with -q.

The look itself (:mod:`kmenv.actions.progress_display`) is shared with the Python API; this module
picks it from the run's :class:`~kmenv.cli.ui.UI` and routes its lines through the UI, so ``-q``,
``--no-progress`` and ``--json`` apply (progress is on stderr only, so stdout keeps the JSON document).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from kmenv.actions.install import InstallReporter
from kmenv.actions.progress_display import BarProgress, PlainProgress
from kmenv.cli.ui import UI
from kmenv.fetch.progress import ProgressSink

__all__ = ["CliReporter"]


class _PlainSink(PlainProgress):
    """A total every few seconds (and each finished file with -v): readable in CI logs.

    ``advance`` may be negative when a download restarts from zero; the totals follow, the speed does not.
    """

    def __init__(self, ui: UI, every: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ui.note, ui.detail, every=every, clock=clock)
        self.ui = ui


class _RichSink(BarProgress):
    """A bar per active file plus a total with speed and ETA, on the UI's stderr console."""

    def __init__(self, ui: UI) -> None:
        super().__init__(ui.err_console)
        self.ui = ui


class CliReporter(InstallReporter):
    """Install hooks rendered for a person (or a CI log); :meth:`downloads` serves every command that moves bytes."""

    def __init__(self, ui: UI) -> None:
        self.ui = ui
        self.sink: _PlainSink | _RichSink | None = None
        self._sinks: list[_PlainSink | _RichSink] = []

    def phase(self, text: str) -> None:
        self.ui.note(f"{text}…")

    def relocked(self, reasons: Sequence[str]) -> None:
        for reason in reasons:
            self.ui.detail(f"  re-locking: {reason}")

    def skipped(self, notes: Sequence[str]) -> None:
        for note in notes:
            self.ui.note(f"  note: {note}")

    def downloads(self) -> ProgressSink | None:
        """A fresh sink for one batch of downloads (None with ``-q`` or ``--no-progress``); :meth:`close` ends all."""
        if self.ui.quiet or not self.ui.progress:
            return None
        self.close()  # a command that shows progress twice (fetch, then upload) starts afresh
        self.sink = _RichSink(self.ui) if self.ui.stderr_is_tty() and not self.ui.json else _PlainSink(self.ui)
        self._sinks.append(self.sink)
        return self.sink

    def uploads(self) -> ProgressSink | None:
        """Upload progress (``kmenv mirror``), drawn as downloads are."""
        sink = self.downloads()
        if isinstance(sink, _PlainSink):
            sink.verbs = ("upload", "uploaded")
        return sink

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()
