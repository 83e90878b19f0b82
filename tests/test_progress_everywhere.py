"""Every command that moves bytes shows the same progress as ``install``: bars on a terminal, lines in logs.

Real ``kmenv`` processes against the Kaggle emulator, whose blobs trickle (``slow``) so a download lasts
long enough to be drawn. A terminal is a real pseudo-terminal on stderr; stdout stays a pipe, so
``--json`` can be checked to hold only its document.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from kaggle_emulator import KaggleEmulator

from kmenv.actions.progress_display import BarProgress, PlainProgress, Rate
from kmenv.fetch.download import Meter
from kmenv.fetch.progress import GrowingProgress, ProgressSink

MiB = 1 << 20
WEIGHTS = {1: os.urandom(MiB), 2: os.urandom(MiB + 4096)}
HANDLE = "acme/big/pyTorch/default"
#: A size or speed in any unit kmenv does not print (rich's own columns speak decimal MB, kB).
FOREIGN_UNITS = re.compile(r"\d (?:kB|KB|MB|GB|TB)\b")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[KaggleEmulator]:
    with KaggleEmulator() as emu:
        emu.add_instance("acme", "big", "pyTorch", "default", {n: {"weights.bin": w} for n, w in WEIGHTS.items()})
        monkeypatch.setenv("KMENV_KAGGLE_URL", emu.url)
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setenv("TERM", "xterm-256color")
        monkeypatch.setenv("COLUMNS", "120")
        yield emu


def trickle(emu: KaggleEmulator, times: int = 4) -> None:
    """The next blob bodies arrive 64 KiB every 60 ms (a MiB takes about 1 s)."""
    emu.fault("blob", "slow", delay=0.06, times=times)


def project(folder: Path, constraint: str = "") -> Path:
    folder.mkdir()
    (folder / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  kaggle:\n    type: kaggle\nmodels:\n  big: {HANDLE}{constraint}\n"
    )
    return folder


def run(*args: str | Path, tty: bool = False, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """``kmenv ARGS`` (or ``python -c CODE``) with stderr on a pseudo-terminal when ``tty``."""
    argv = [sys.executable, "-c", code] if code is not None else [sys.executable, "-m", "kmenv", *map(str, args)]
    if not tty:
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    err = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                break
            err += chunk
        elif proc.poll() is not None and not select.select([leader], [], [], 0.2)[0]:
            break
    os.close(leader)
    assert proc.stdout is not None
    with proc.stdout:
        out = proc.stdout.read().decode()
    proc.wait(timeout=60)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err.decode("utf-8", "replace"))


def assert_bars(err: str, label: str) -> None:
    """What a terminal was shown: a bar for ``label``, the total with its file count, speeds in MiB-family units."""
    text = ANSI.sub("", err)
    assert "\x1b[" in err, "drawn with terminal controls"
    assert label in text
    assert re.search(r"total \(\d+ of \d+ files?\)", text), text
    assert re.search(r"\d+\.\d (?:KiB|MiB)/\d+\.\d MiB", text), text  # done of total
    assert re.search(r"\d+\.\d (?:KiB|MiB)/s", text), text  # a speed, once one can be told
    assert not FOREIGN_UNITS.search(text), text
    assert not re.search(r"-\d+(?:\.\d)? (?:B|KiB|MiB)/s", text), "no negative speed"


# -- the commands -------------------------------------------------------------------------------------------------


def test_lock_shows_the_downloads_that_learn_sha256s_on_a_terminal(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    trickle(emulator)
    result = run("-C", folder, "lock", tty=True)
    assert result.returncode == 0, result.stderr
    assert "Locked 1 model" in result.stdout
    assert_bars(result.stderr, "acme/big/pyTorch/default/2/weights.bin")


def test_lock_in_a_log_writes_plain_lines_and_nothing_with_quiet(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    result = run("-C", folder, "lock")
    assert result.returncode == 0, result.stderr
    assert "  1 file, 1.0 MiB to fetch" in result.stderr.splitlines()
    assert "\x1b[" not in result.stderr

    quiet = project(tmp_path / "q")
    (tmp_path / "cache2").mkdir()
    env_cache = {"KMENV_CACHE_DIR": str(tmp_path / "cache2")}
    proc = subprocess.run(
        [sys.executable, "-m", "kmenv", "-q", "-C", str(quiet), "lock"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env_cache},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert emulator.requests_to("blob"), "the quiet lock did download (into its own cache)"


def test_lock_json_keeps_stdout_for_the_document(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    trickle(emulator)
    result = run("-C", folder, "lock", "--json", tty=True)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)  # the whole of stdout is one document
    assert doc["written"] is True
    assert "1 file, 1.0 MiB to fetch" in result.stderr  # progress went to stderr


def test_install_relocking_shows_the_learning_downloads_too(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    result = run("-C", folder, "install")
    assert result.returncode == 0, result.stderr
    assert "  1 file, 1.0 MiB to fetch" in result.stderr.splitlines()  # learnt while resolving; nothing after


def test_download_shows_bars_on_a_terminal_and_lines_in_a_log(emulator: KaggleEmulator, tmp_path: Path) -> None:
    trickle(emulator)
    result = run("download", f"{HANDLE}/1", "--path", tmp_path / "one", tty=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "one" / "weights.bin").read_bytes() == WEIGHTS[1]
    assert_bars(result.stderr, f"{HANDLE}/1/weights.bin")

    logged = run("download", f"{HANDLE}/2", "--path", tmp_path / "two")
    assert logged.returncode == 0, logged.stderr
    assert "  1 file, 1.0 MiB to fetch" in logged.stderr.splitlines()
    assert run("-q", "download", f"{HANDLE}/2", "--path", tmp_path / "three").stderr == ""


def test_upgrade_shows_what_planning_downloads(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p", "@<2")
    assert run("-C", folder, "install").returncode == 0
    trickle(emulator)
    result = run("-C", folder, "upgrade", "--latest", tty=True)
    assert result.returncode == 0, result.stderr
    assert "big: 1 → 2" in result.stdout
    assert_bars(result.stderr, f"{HANDLE}/2/weights.bin")


# -- the Python API -----------------------------------------------------------------------------------------------

API = "import sys, kmenv; o = kmenv.install(sys.argv[1], progress=True); print(o.generation)"


def test_the_api_draws_bars_in_a_terminal(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    trickle(emulator)
    result = run(code=API.replace("sys.argv[1]", repr(str(folder))), tty=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert_bars(result.stderr, f"{HANDLE}/2/weights.bin")


def test_the_api_writes_plain_lines_without_a_terminal_and_nothing_by_default(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    folder = project(tmp_path / "p")
    result = run(code=API.replace("sys.argv[1]", repr(str(folder))))
    assert result.returncode == 0, result.stderr
    assert "  1 file, 1.0 MiB to fetch" in result.stderr.splitlines()

    locking = project(tmp_path / "l")
    code = f"import kmenv; kmenv.lock({str(locking)!r}, progress=True)"
    env = {**os.environ, "KMENV_CACHE_DIR": str(tmp_path / "cache1")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "  1 file, 1.0 MiB to fetch" in proc.stderr.splitlines()

    silent = project(tmp_path / "q")
    code = f"import kmenv; kmenv.install({str(silent)!r}); kmenv.lock({str(silent)!r})"
    env = {**os.environ, "KMENV_CACHE_DIR": str(tmp_path / "cache2")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


# -- the display itself -------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_restart_never_makes_a_speed_or_a_count_negative() -> None:
    from rich.console import Console

    clock = Clock()
    console = Console(file=StringIO(), force_terminal=True, width=160)
    bars = BarProgress(console, clock=clock)
    bars.begin(1, 8 * MiB)
    bars.start("m/a.bin", 8 * MiB)
    meter = Meter("m/a.bin", bars, lambda n: None)
    meter.moved_to(3 * MiB)  # resumed: 3 MiB kept from an earlier run, not transferred now
    clock.now += 1
    meter.received(MiB)
    clock.now += 1
    meter.moved_to(0)  # the server ignored the range: start again from zero
    clock.now += 1
    meter.received(MiB // 2)
    overall, file = bars.progress.tasks
    assert overall.completed == file.completed == MiB // 2
    speed = overall.fields["rate"].per_second()
    assert speed is not None and speed == pytest.approx((MiB + MiB // 2) / 3)  # only bytes that arrived
    console.print(bars.progress.make_tasks_table(bars.progress.tasks))
    shown = ANSI.sub("", console.file.getvalue())  # type: ignore[attr-defined]
    assert "512.0 KiB/s" in shown, shown
    assert not re.search(r"-\d", shown), shown
    assert not FOREIGN_UNITS.search(shown), shown
    bars.close()


def test_plain_lines_keep_counts_and_speeds_sane_through_restarts() -> None:
    clock = Clock()
    lines: list[str] = []
    plain = PlainProgress(lines.append, every=1.0, clock=clock)
    plain.begin(1, 10 * MiB)
    plain.moved("a", 4 * MiB)  # resumed
    clock.now += 2
    plain.advance("a", 2 * MiB)
    plain.moved("a", -6 * MiB)  # restarted from zero
    clock.now += 2
    plain.advance("a", MiB)
    assert lines[0] == "  1 file, 10.0 MiB to fetch"
    assert lines[1] == "  6.0 MiB of 10.0 MiB (60%), 0 of 1 file, 1.0 MiB/s, 4 s left"
    assert lines[2] == "  1.0 MiB of 10.0 MiB (10%), 0 of 1 file, 768.0 KiB/s, 12 s left"


def test_more_arriving_than_announced_shows_no_total_and_no_time_left() -> None:
    clock = Clock()
    lines: list[str] = []
    plain = PlainProgress(lines.append, every=1.0, clock=clock)
    plain.begin(1, 0)  # an archive of unknown size
    clock.now += 2
    plain.advance("archive", 3 * MiB)
    assert lines[-1] == "  3.0 MiB, 0 of 1 file, 1.5 MiB/s"


def test_batches_that_join_late_grow_one_total() -> None:
    seen: list[tuple[str, int, int]] = []

    class Record(ProgressSink):
        def begin(self, files: int, total_bytes: int) -> None:
            seen.append(("begin", files, total_bytes))

        def more(self, files: int, total_bytes: int) -> None:
            seen.append(("more", files, total_bytes))

        def end(self) -> None:
            seen.append(("end", 0, 0))

    growing = GrowingProgress(Record())
    growing.close()
    assert seen == [], "nothing began, so nothing ends"
    for size in (10, 20):
        growing.begin(1, size)
        growing.end()
    growing.close()
    assert seen == [("begin", 1, 10), ("more", 1, 20), ("end", 0, 0)]


def test_a_rate_needs_half_a_second_and_forgets_old_bytes() -> None:
    clock = Clock()
    rate = Rate(clock, window=5.0)
    rate.add(MiB)
    assert rate.per_second() is None
    clock.now += 1
    assert rate.per_second() == MiB
    clock.now += 10
    assert rate.per_second() == 0
