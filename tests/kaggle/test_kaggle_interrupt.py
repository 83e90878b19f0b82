"""Ctrl-C during the Kaggle download phases: ``kmenv lock`` learning a sha256, and ``kmenv download``.

A real SIGINT to a real process while the emulator trickles the blob: exit 130 within a second, no
traceback, the bytes received kept as a partial.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from kaggle_emulator import KaggleEmulator
from test_fetch_interrupt import interrupt, kept, prompt

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

WEIGHTS = random.Random(11).randbytes(3 << 20)
KAGGLE = "acme/slowmodel/pyTorch/base"


@pytest.fixture
def slow_kaggle(emulator: KaggleEmulator, tmp_path: Path) -> tuple[KaggleEmulator, dict[str, str]]:
    emulator.add_instance("acme", "slowmodel", "pyTorch", "base", {1: {"weights.bin": WEIGHTS}})
    emulator.fault("blob", "slow", delay=0.2, times=1000, path="weights.bin")
    env = {**os.environ, "KMENV_CACHE_DIR": str(tmp_path / "cache"), "KMENV_KAGGLE_URL": emulator.url}
    return emulator, env


def test_ctrl_c_while_lock_learns_a_kaggle_sha256_stops_within_a_second(
    slow_kaggle: tuple[KaggleEmulator, dict[str, str]], tmp_path: Path
) -> None:
    _, env = slow_kaggle
    project = tmp_path / "project"
    project.mkdir()
    (project / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  kaggle:\n    type: kaggle\nmodels:\n  slow: {KAGGLE}\n"
    )
    code, stopped, err = interrupt(["-C", str(project), "lock"], env, tmp_path / "cache")
    assert code == 130 and prompt(stopped), (code, stopped, err)
    assert "Traceback" not in err
    assert len(kept(tmp_path / "cache")) == 1, "the bytes received are kept"


def test_ctrl_c_during_kmenv_download_stops_within_a_second(
    slow_kaggle: tuple[KaggleEmulator, dict[str, str]], tmp_path: Path
) -> None:
    _, env = slow_kaggle
    argv = ["download", f"{KAGGLE}/1", "--path", str(tmp_path / "dl")]
    code, stopped, err = interrupt(argv, env, tmp_path / "cache")
    assert code == 130 and prompt(stopped), (code, stopped, err)
    assert "Traceback" not in err
    assert len(kept(tmp_path / "cache")) == 1
