"""``--connections N`` on the commands that download: the setting ``KMENV_CONNECTIONS`` sets, the flag winning.

Checked end to end (a real ``kmenv install`` against a static registry whose large file a range
server serves slowly) and at the edge where a bad value becomes a one-line usage error.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Runner
from fetch_faults import FaultServer, serve_folder, write_model_source, write_project
from range_server import RangeFile

from kmenv.cli.app import build_parser
from kmenv.cli.commands._common import settings
from kmenv.fetch.tuning import Tuning, for_run
from kmenv.registry.static.build import build_registry

WEIGHTS = random.Random(21).randbytes(4 << 20)
HANDLE = "acme/big/pyTorch/base"


@pytest.fixture(autouse=True)
def _forget_the_flag() -> Iterator[None]:
    yield
    for_run(None)  # in-process runs: the next test starts without this one's flag


@pytest.fixture
def world(tmp_path: Path, server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, RangeFile, str]:
    source = write_model_source(tmp_path / "source", {HANDLE: {1: {"weights.bin": WEIGHTS}}})
    build_registry(source, tmp_path / "registry", name="acme")
    serve_folder(server, tmp_path / "registry")
    (blob,) = [p for p in (tmp_path / "registry" / "files").rglob("*") if p.is_file()]
    route = RangeFile(WEIGHTS, chunk=64 << 10, delay=0.1)  # about 0.65 MB/s per connection: 6 s alone
    path = "/" + blob.relative_to(tmp_path / "registry").as_posix()
    server.routes[path] = route
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KMENV_SPLIT_SIZE", "1M")
    return write_project(tmp_path / "project", server.url + "/", {"big": HANDLE}), route, path


def test_the_flag_splits_where_the_variable_would_not(
    kmenv: Runner, world: tuple[Path, RangeFile, str], server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, route, path = world
    monkeypatch.setenv("KMENV_CONNECTIONS", "1")
    result = kmenv("-q", "-C", project, "install", "--connections", "4")
    assert result.code == 0, result.err
    assert (project / ".kmenv" / "models" / "big" / "weights.bin").read_bytes() == WEIGHTS
    assert len(server.hits(path)) >= 2 and route.most_in_flight >= 2, "the flag's four connections, not the one"


def test_connections_1_never_splits(
    kmenv: Runner, world: tuple[Path, RangeFile, str], server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, route, path = world
    route.delay = 0.0
    monkeypatch.setenv("KMENV_CONNECTIONS", "8")
    result = kmenv("-q", "-C", project, "install", "--connections", "1")
    assert result.code == 0, result.err
    assert [h.headers.get("Range") for h in server.hits(path)] == [None], "one plain request, no range"


@pytest.mark.parametrize("command", ["install", "download acme/x/pyTorch/y", "lock", "upgrade", "mirror --to out"])
@pytest.mark.parametrize("value", ["0", "65", "many", "²"])
def test_a_bad_value_is_a_usage_error_naming_the_flag(kmenv: Runner, tmp_path: Path, command: str, value: str) -> None:
    write_project(tmp_path, "http://127.0.0.1:9/", {})
    result = kmenv("-C", tmp_path, *command.split(), "--connections", value)
    assert result.code == 2, result.err
    line = result.err.strip().splitlines()[0]
    assert "--connections" in line and "Traceback" not in result.err


def test_the_flag_beats_the_variable_which_beats_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = build_parser()
    monkeypatch.setenv("KMENV_CONNECTIONS", "7")
    assert settings(parser.parse_args(["install", "--connections", "3"])).connections == 3
    assert Tuning.from_env().connections == 3
    assert settings(parser.parse_args(["install"])).connections == 7
    assert Tuning.from_env().connections == 7
    monkeypatch.delenv("KMENV_CONNECTIONS")
    assert settings(parser.parse_args(["lock"])).connections == Tuning.from_env().connections == 16
