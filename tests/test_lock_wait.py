"""A run that must wait for another kmenv's lock says so at once, naming the holder; ``lock`` takes the project lock.

Real processes: either this test process holds a lock the way kmenv does (``EnvironmentDir.lock``) while a
``kmenv`` subprocess meets it, or two ``kmenv`` subprocesses meet each other over a trickling download
from the Kaggle emulator.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kaggle_emulator import KaggleEmulator

from kmenv.environment.generations import EnvironmentDir
from kmenv.fs.locks import LockHolder, held_lock, waiting_text

HANDLE = "acme/big/pyTorch/default"
WEIGHTS = os.urandom(1 << 20)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[KaggleEmulator]:
    with KaggleEmulator() as emu:
        emu.add_instance("acme", "big", "pyTorch", "default", {1: {"weights.bin": WEIGHTS}})
        emu.add_instance("acme", "small", "pyTorch", "default", {1: {"config.json": b"{}"}})
        monkeypatch.setenv("KMENV_KAGGLE_URL", emu.url)
        yield emu


def project(folder: Path, models: str = f"  big: {HANDLE}\n") -> Path:
    folder.mkdir()
    (folder / "kmodels.yaml").write_text(f"version: 1\nregistries:\n  kaggle:\n    type: kaggle\nmodels:\n{models}")
    return folder


def start(*args: str | Path, code: str | None = None) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "kmenv", *map(str, args)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_line(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    """The next line ``proc`` writes to stderr, waiting at most ``timeout`` seconds."""
    assert proc.stderr is not None
    fd, line, deadline = proc.stderr.fileno(), b"", time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        assert ready, f"no line within {timeout} s (so far {line!r})"
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line.decode().rstrip("\n")


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode(), err.decode()


def record_of(path: Path, timeout: float = 30.0) -> dict[str, object]:
    """The holder record in a lock file, once a holder wrote one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return dict(json.loads(path.read_text()))
        except (FileNotFoundError, ValueError):
            time.sleep(0.02)
    raise AssertionError(f"{path} never named a holder")


def test_install_says_at_once_that_it_waits_and_for_whom(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    with EnvironmentDir(folder / ".kmenv").lock("installing"):
        proc = start("-C", folder, "install")
        line = read_line(proc)
        assert line == f"waiting for another kmenv (pid {os.getpid()}) installing here…"
        time.sleep(0.3)
        assert proc.poll() is None, "it waits while the lock is held"
        assert not (folder / "kmodels.lock").exists()
    code, out, err = finish(proc)
    assert code == 0, err
    assert "Installed 1 model" in out
    assert (folder / ".kmenv" / ".lock").read_text() == "", "a released lock names nobody"


def test_lock_takes_the_project_lock(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    with EnvironmentDir(folder / ".kmenv").lock("adding a model"):
        proc = start("-C", folder, "lock")
        assert read_line(proc) == f"waiting for another kmenv (pid {os.getpid()}) adding a model here…"
        time.sleep(0.3)
        assert proc.poll() is None and not (folder / "kmodels.lock").exists(), "nothing is read or written meanwhile"
        (folder / "kmodels.yaml").write_text(
            (folder / "kmodels.yaml").read_text() + f"  small: {HANDLE.replace('big', 'small')}\n"
        )  # what the holder changed is what the waiting lock resolves
    code, _, err = finish(proc)
    assert code == 0, err
    assert set(json.loads((folder / "kmodels.lock").read_text())["models"]) == {"big", "small"}


def test_a_concurrent_lock_and_add_lose_no_update(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    emulator.fault("blob", "slow", delay=0.5, times=2)  # the lock learns big's sha256 slowly (about 8 s)
    locking = start("-C", folder, "lock")
    holder = record_of(folder / ".kmenv" / ".lock")
    assert holder["pid"] == locking.pid and holder["operation"] == "locking"
    adding = start("-C", folder, "add", HANDLE.replace("big", "small"), "--name", "small")
    assert read_line(adding) == f"waiting for another kmenv (pid {locking.pid}) locking here…"
    assert finish(locking)[0] == 0
    code, _, err = finish(adding)
    assert code == 0, err
    assert set(json.loads((folder / "kmodels.lock").read_text())["models"]) == {"big", "small"}
    check = subprocess.run([sys.executable, "-m", "kmenv", "-C", str(folder), "lock", "--check"], capture_output=True)
    assert check.returncode == 0, check.stderr


def test_a_blob_another_run_downloads_is_waited_for_by_name(emulator: KaggleEmulator, tmp_path: Path) -> None:
    first, second = project(tmp_path / "a"), project(tmp_path / "b")
    emulator.fault("blob", "slow", delay=0.6, times=1)  # about 10 s for the first run's download
    one = start("-C", first, "install")
    locks = Path(os.environ["KMENV_CACHE_DIR"]) / "locks"
    deadline = time.monotonic() + 30
    while not any(p.name.startswith("u-") and p.stat().st_size for p in locks.glob("*.lock")):
        assert time.monotonic() < deadline, "the first run never took the blob's lock"
        time.sleep(0.02)
    two = start("-C", second, "install")
    lines = [read_line(two) for _ in range(2)]
    expected = f"waiting for another kmenv (pid {one.pid}) downloading {HANDLE}/1/weights.bin into the cache…"
    assert expected in lines, lines
    assert one.poll() is None, "said while the first run still downloads"
    assert finish(one)[0] == 0 and finish(two)[0] == 0
    for folder in (first, second):
        assert (folder / ".kmenv" / "models" / "big" / "weights.bin").read_bytes() == WEIGHTS


def test_the_api_says_it_waits_on_stderr(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    with EnvironmentDir(folder / ".kmenv").lock("rolling back"):
        proc = start(code=f"import kmenv; kmenv.install({str(folder)!r})")
        assert read_line(proc) == f"waiting for another kmenv (pid {os.getpid()}) rolling back here…"
    code, _, err = finish(proc)
    assert code == 0, err


def test_quiet_runs_wait_silently(emulator: KaggleEmulator, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    with EnvironmentDir(folder / ".kmenv").lock("installing"):
        proc = start("-q", "-C", folder, "install")
        time.sleep(1.0)
        assert proc.poll() is None
    code, _, err = finish(proc)
    assert code == 0 and err == ""


# -- the record ---------------------------------------------------------------------------------------------------


def test_a_record_left_by_a_killed_holder_is_not_shown(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "x.lock"
    path.write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename, "operation": "installing"}))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
    )  # an older kmenv: it holds the lock but writes no record
    try:
        assert child.stdout is not None and child.stdout.readline() == b"held\n"
        heard: list[LockHolder] = []
        with (
            pytest.raises(TimeoutError),
            held_lock(path, operation="installing", on_wait=heard.append, poll=_give_up_after(0.2)),
        ):
            pass
        assert heard == [LockHolder()]
        assert waiting_text(heard[0]) == "waiting for another kmenv here…"
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_a_holder_on_another_host_is_named_with_it() -> None:
    assert waiting_text(LockHolder(7, "build-3", "installing")) == (
        "waiting for another kmenv (pid 7 on build-3) installing here…"
    )


def _give_up_after(seconds: float) -> Callable[[], None]:
    deadline = time.monotonic() + seconds

    def poll() -> None:
        if time.monotonic() > deadline:
            raise TimeoutError

    return poll
