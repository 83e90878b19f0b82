"""Colour rules (``--color``, ``NO_COLOR``, ``FORCE_COLOR``, ``TERM=dumb``) and the ``KMENV_LOCKED``/``KMENV_FROZEN``/
``KMENV_NO_PROGRESS`` switches, on both the full path and the no-op fast path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Runner

from kmenv import config
from kmenv.cli import fast
from kmenv.cli.ui import use_color

RED = "\x1b[31m"


@pytest.mark.parametrize(
    ("choice", "tty", "environ", "expected"),
    [
        ("always", False, {"NO_COLOR": "1"}, True),
        ("never", True, {"FORCE_COLOR": "1"}, False),
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": ""}, True),  # empty NO_COLOR is unset (no-color.org)
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", False, {"FORCE_COLOR": "1"}, True),
        ("auto", False, {"FORCE_COLOR": ""}, False),
        ("auto", True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        ("auto", True, {"TERM": "dumb"}, False),
        ("auto", False, {"TERM": "dumb", "FORCE_COLOR": "1"}, True),
    ],
)
def test_colour_rules(choice: str, tty: bool, environ: dict[str, str], expected: bool) -> None:
    assert use_color(choice, tty=tty, environ=environ) is expected


def stderr_on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """stderr of a real ``kmenv`` whose stderr is a pseudo-terminal."""
    import pty

    leader, follower = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmenv", *argv], stderr=follower, stdout=subprocess.DEVNULL, env={**base, **env}
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX's")
@pytest.mark.parametrize(
    ("options", "env", "coloured"),
    [
        ([], {"TERM": "xterm"}, True),
        ([], {"TERM": "xterm", "NO_COLOR": ""}, True),
        ([], {"TERM": "xterm", "NO_COLOR": "1"}, False),
        ([], {"TERM": "dumb"}, False),
        (["--color", "never"], {"TERM": "xterm"}, False),
        (["--no-color"], {"TERM": "xterm"}, False),
    ],
)
def test_a_terminal_gets_colour_unless_told_otherwise(
    tmp_path: Path, options: list[str], env: dict[str, str], coloured: bool
) -> None:
    err = stderr_on_a_terminal([*options, "-C", str(tmp_path), "install"], env)
    assert "no kmodels.yaml" in err
    assert (RED in err) is coloured, repr(err)


@pytest.mark.parametrize(
    ("options", "env", "coloured"),
    [
        (["--color", "always"], {}, True),
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": ""}, True),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ([], {}, False),
    ],
)
def test_piped_output_is_plain_unless_forced(
    tmp_path: Path, options: list[str], env: dict[str, str], coloured: bool
) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.run(
        [sys.executable, "-m", "kmenv", *options, "-C", str(tmp_path), "install"],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=60,
    )
    assert proc.returncode == 2 and (RED in proc.stderr) is coloured, proc.stderr


def test_the_fast_paths_switch_words_are_the_settings_words() -> None:
    assert fast._SWITCH_WORDS == config._TRUE | config._FALSE and fast._ON == config._TRUE


@pytest.mark.parametrize("var", ["KMENV_LOCKED", "KMENV_FROZEN", "KMENV_NO_PROGRESS"])
def test_a_bad_switch_is_exit_2_naming_it_on_every_path(
    var: str, example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kmenv("-C", example, "install").code == 0
    monkeypatch.setenv(var, "ture")
    for argv in (["-C", str(example), "install"], ["-C", str(example), "list"]):
        result = kmenv(*argv)  # install is up to date: the fast path must not answer it
        assert result.code == 2 and f"{var}='ture' is not a yes/no value" in result.err, (argv, result.err)
    assert kmenv("-C", example, "install", "--locked" if var != "KMENV_FROZEN" else "--frozen").code == 2


def test_kmenv_locked_with_a_fresh_lock_is_still_the_fast_no_op(
    example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kmenv("-C", example, "install").code == 0
    for value in ("1", "TRUE", "yes"):
        monkeypatch.setenv("KMENV_LOCKED", value)
        capsys.readouterr()
        code, _ = fast.answer(["-C", str(example), "install"])
        assert code == 0 and "nothing to do" in capsys.readouterr().out
    monkeypatch.setenv("KMENV_FROZEN", "1")  # both: left to the full path, which refuses
    assert fast.answer(["-C", str(example), "install"]) == (None, None)
    both = kmenv("-C", example, "install")
    assert both.code == 2 and "KMENV_LOCKED and KMENV_FROZEN are both set" in both.err
    assert kmenv("-C", example, "install", "--frozen").code == 0  # a flag wins over both variables


def test_kmenv_locked_refuses_a_stale_lock_and_kmenv_frozen_installs_it_as_is(
    example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kmenv("-C", example, "lock").code == 0
    assert kmenv("-C", example, "remove", "adder", "--no-lock").code == 0
    lock = (example / "kmodels.lock").read_bytes()
    monkeypatch.setenv("KMENV_LOCKED", "1")
    stale = kmenv("-C", example, "install")
    assert stale.code == 2 and "kmodels.lock" in stale.err
    monkeypatch.setenv("KMENV_LOCKED", "0")
    monkeypatch.setenv("KMENV_FROZEN", "true")
    frozen = kmenv("-C", example, "install")
    assert frozen.code == 0, frozen.err
    assert (example / "kmodels.lock").read_bytes() == lock  # not re-locked
    assert (example / ".kmenv" / "models" / "adder").is_dir()  # the lock as it is, adder included


@pytest.mark.parametrize("how", ["variable", "option"])
def test_no_progress_drops_the_progress_lines_only(
    how: str, example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "variable":
        monkeypatch.setenv("KMENV_NO_PROGRESS", "yes")
    result = kmenv("-C", example, "install", *(["--no-progress"] if how == "option" else []))
    assert result.code == 0, result.err
    assert "to fetch" not in result.err and "fetching" in result.err and "Installed 5 models" in result.out


def test_progress_lines_are_there_by_default(example: Path, kmenv: Runner) -> None:
    result = kmenv("-C", example, "install")
    assert result.code == 0 and "to fetch" in result.err


@pytest.mark.parametrize(
    ("argv", "answered"),
    [
        (["--color", "always", "install"], True),
        (["install", "--color=never", "--no-progress"], True),
        (["--color", "rainbow", "install"], False),
        (["install", "--color"], False),
    ],
)
def test_the_fast_path_takes_the_colour_and_progress_options(argv: list[str], answered: bool) -> None:
    assert (fast._install_shape(argv) is not None) is answered
