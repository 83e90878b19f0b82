"""Every command's ``--help`` ends with worked examples, as uv's and hf's do."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from kmenv.cli.app import build_parser

#: Commands whose examples are not written yet: strict, so each fails here once its examples land.
WITHOUT_EXAMPLES: frozenset[str] = frozenset()


def commands() -> list[str]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted({choice.dest for choice in sub._choices_actions})


def params() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="no examples yet"))
        if name in WITHOUT_EXAMPLES
        else name
        for name in commands()
    ]


@pytest.mark.parametrize("command", params())
def test_help_has_examples_that_use_the_command(command: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kmenv", command, "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "\nexamples:\n" in proc.stdout
    shown = proc.stdout.split("\nexamples:\n", 1)[1].splitlines()
    lines = [line for line in shown if line.strip()]
    assert 1 <= len(lines) <= 3
    assert all(line.startswith("  ") and "kmenv" in line for line in lines)
    assert any(f"kmenv {command}" in line for line in lines)
