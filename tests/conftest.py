"""Shared fixtures: an isolated cache/data dir per test, the bundled example copied to a temp dir,
and a runner that calls the CLI in-process the way a user would call it in a shell.

Sockets other than localhost are refused for the whole suite (see ``addopts`` in pyproject.toml).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fetch_faults import FaultServer

    from kmenv.store.blobstore import Store

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own cache, data and config folders, and no KMENV_* leaks in from outside."""
    base = tmp_path_factory.mktemp("kmenv-home")
    for var in list(os.environ):
        if var.startswith("KMENV_") or var.startswith("KAGGLE_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KMENV_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("KMENV_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("KMENV_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("HOME", str(base / "home"))
    monkeypatch.setenv("NO_COLOR", "1")
    yield base


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of examples/ (registry + quickstart); returns the quickstart project folder."""
    shutil.copytree(EXAMPLES / "registry", tmp_path / "registry")
    shutil.copytree(
        EXAMPLES / "quickstart", tmp_path / "quickstart", ignore=shutil.ignore_patterns(".kmenv", "kmodels.lock")
    )
    return tmp_path / "quickstart"


@dataclass
class Result:
    code: int
    out: str
    err: str


class Runner:
    """Runs ``kmenv ARGS`` in-process (fast) or as a real subprocess (``subprocess=True``)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str | os.PathLike[str], subprocess_: bool = False, cwd: Path | None = None) -> Result:
        argv = [str(a) for a in args]
        if subprocess_:
            proc = subprocess.run(
                [sys.executable, "-m", "kmenv", *argv], capture_output=True, text=True, cwd=cwd, timeout=120
            )
            return Result(proc.returncode, proc.stdout, proc.stderr)
        from kmenv.cli.app import main

        self.capsys.readouterr()
        old = Path.cwd()
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main(argv)
        finally:
            os.chdir(old)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def kmenv(capsys: pytest.CaptureFixture[str]) -> Runner:
    return Runner(capsys)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty store in a temp folder."""
    from kmenv.store.blobstore import Store

    return Store(tmp_path / "cache")


@pytest.fixture
def make_server() -> Iterator[Callable[[], FaultServer]]:
    """Start fault-injecting HTTP servers on 127.0.0.1 (see tests/fetch_faults.py); all stop after the test."""
    from fetch_faults import fault_servers

    with fault_servers() as start:
        yield start


@pytest.fixture
def server(make_server: Callable[[], FaultServer]) -> FaultServer:
    """One fault-injecting server."""
    return make_server()
