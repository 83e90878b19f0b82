"""How download progress is shown: periodic plain lines in logs, bars on a terminal, nothing with -q."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Runner

from kmenv.cli.progress import CliReporter, _PlainSink, _RichSink
from kmenv.cli.ui import UI

MiB = 1 << 20


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_give_totals_files_speed_and_time_left(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    sink = _PlainSink(UI(), every=5.0, clock=clock)
    sink.begin(4, 400 * MiB)
    sink.advance("a", 50 * MiB)  # not yet 5 s: silent
    clock.now += 5
    sink.advance("a", 50 * MiB)
    sink.finish("a")
    clock.now += 5
    sink.advance("b", -10 * MiB)  # a restart moves the total back; the speed counts only bytes that arrived
    sink.end()

    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "  4 files, 400.0 MiB to fetch",
        "  100.0 MiB of 400.0 MiB (25%), 0 of 4 files, 20.0 MiB/s, 15 s left",
        "  90.0 MiB of 400.0 MiB (22%), 1 of 4 files, 10.0 MiB/s, 31 s left",
    ]


def test_a_terminal_gets_a_bar_per_active_file_and_a_total() -> None:
    ui = UI()
    sink = _RichSink(ui)
    sink.begin(2, 3 * MiB)
    sink.start("m/a.bin", MiB)
    sink.start("m/b.bin", 2 * MiB)
    sink.advance("m/a.bin", MiB)
    descriptions = [t.description for t in sink.progress.tasks]
    assert descriptions == ["total (0 of 2 files)", "m/a.bin", "m/b.bin"]
    sink.finish("m/a.bin")
    assert [t.description for t in sink.progress.tasks] == ["total (1 of 2 files)", "m/b.bin"]
    assert sink.progress.tasks[0].completed == MiB
    sink.end()


def test_the_reporter_picks_the_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CliReporter(UI(quiet=True)).downloads() is None
    assert isinstance(CliReporter(UI()).downloads(), _PlainSink)  # stderr is captured: not a terminal
    ui = UI()
    monkeypatch.setattr(ui, "stderr_is_tty", lambda: True)
    reporter = CliReporter(ui)
    assert isinstance(reporter.downloads(), _RichSink)
    reporter.close()


def test_quiet_installs_print_no_progress(example: Path, kmenv: Runner) -> None:
    result = kmenv("-q", "-C", example, "install")
    assert result.code == 0
    assert result.err == ""
    assert "Installed 5 models" in result.out
