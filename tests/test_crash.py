"""Crash safety: a real ``kmenv install`` killed with SIGKILL at any moment leaves a consistent world.

After each kill the environment is on its previous complete generation (or on the new complete
one, once the switch happened; or absent on a first install), never on a mix; the store holds
only blobs whose bytes hash to their name; and the next ``kmenv install`` finishes the job.

Two ways to kill: from outside, while a slow local server trickles a file (a real mid-download
kill), and from inside, by a tiny driver that replaces one function of kmenv with ``SIGKILL``
to self, so the moments between store, build, switch and state are hit exactly.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fetch_faults import FaultServer, fault_servers, serve_folder, write_model_source, write_project

from kmenv.registry.static.build import build_registry

HANDLE = "acme/big/pyTorch/default"
TOKENIZER = b'{"vocab": ["a", "b"]}' * 50  # shared by both versions: fetched once
V1 = {"config.json": b'{"v": 1}', "tokenizer.json": TOKENIZER, "weights.bin": os.urandom(2 << 20)}
V2 = {"config.json": b'{"v": 2}', "tokenizer.json": TOKENIZER, "weights.bin": os.urandom(6 << 20)}

# Replaces one kmenv function with "SIGKILL myself on call number N", then runs the CLI.
DRIVER = """
import os, signal, sys, importlib
target, nth = sys.argv[1], int(sys.argv[2])
module_name, _, path = target.partition(":")
owner_name, _, attr = path.rpartition(".")
owner = importlib.import_module(module_name)
for part in filter(None, owner_name.split(".")):
    owner = getattr(owner, part)
original, calls = getattr(owner, attr), [0]
def dying(*args, **kwargs):
    calls[0] += 1
    if calls[0] >= nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
setattr(owner, attr, dying)
from kmenv.cli.app import main
sys.exit(main(sys.argv[3:]))
"""


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class World:
    """A registry served over HTTP, a project using it, and its own cache."""

    server: FaultServer
    project: Path
    cache: Path
    throttle: dict[str, float]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KMENV_CACHE_DIR": str(self.cache), "KMENV_MAX_WORKERS": "4"}

    def kmenv(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "kmenv", "-C", str(self.project), *args]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=60)

    def killed_at(self, target: str, nth: int = 1) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", DRIVER, target, str(nth), "-C", str(self.project), "install"]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=60)

    def pin(self, version: int) -> None:
        write_project(self.project, self.server.url + "/", {"big": f"{HANDLE}@=={version}"})

    def installed(self) -> dict[str, str] | None:
        """``{path: sha256}`` of what ``.kmenv/models`` shows, or None when nothing is installed."""
        models = self.project / ".kmenv" / "models"
        if not os.path.lexists(models):
            return None
        folder = models / "big"
        return {p.relative_to(folder).as_posix(): digest(p.read_bytes()) for p in folder.rglob("*") if p.is_file()}

    def store_is_verified(self) -> list[str]:
        """The names of every blob, after checking each one's bytes hash to its name."""
        names = []
        for blob in (self.cache / "blobs" / "sha256").rglob("*"):
            if blob.is_file():
                assert digest(blob.read_bytes()) == blob.name, f"unverified bytes in the store: {blob}"
                names.append(blob.name)
        return sorted(names)


def expected(files: dict[str, bytes]) -> dict[str, str]:
    return {path: digest(data) for path, data in files.items()}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    source = write_model_source(tmp_path / "source", {HANDLE: {1: V1, 2: V2}})
    build_registry(source, tmp_path / "registry", name="acme")
    throttle: dict[str, float] = {}
    with fault_servers() as start:
        server = start()
        serve_folder(server, tmp_path / "registry", throttle=throttle)
        world = World(server, tmp_path / "project", tmp_path / "cache", throttle)
        world.pin(1)
        yield world


def blob_route(data: bytes) -> str:
    sha = digest(data)
    return f"files/sha256/{sha[:2]}/{sha}"


def upgraded_after(world: World, kill: subprocess.CompletedProcess[str]) -> None:
    """Shared checks: the kill left v1 or v2 whole; the next install completes v2 from what is there."""
    assert kill.returncode == -signal.SIGKILL, kill.stderr
    assert world.installed() in (expected(V1), expected(V2)), "never a mix of generations"
    world.store_is_verified()

    again = world.kmenv("install")
    assert again.returncode == 0, again.stderr
    assert world.installed() == expected(V2)
    assert set(world.store_is_verified()) >= {digest(d) for d in V2.values()}
    assert not list((world.project / ".kmenv" / "generations").glob(".*.tmp")), "no half-built generation left"
    assert not list((world.cache / "partial").glob("*")), "nothing left half-downloaded"
    assert world.kmenv("install").stdout.startswith("Environment up to date")


@pytest.mark.parametrize(
    ("target", "nth"),
    [
        (
            "kmenv.store.blobstore:BlobWriter.publish",
            2,
        ),  # one file verified, the next complete on disk but unpublished
        ("kmenv.environment.generations:EnvironmentDir.build", 1),  # the store is full, nothing built
        ("kmenv.environment.linking:Linker.link", 2),  # a generation half linked
        ("kmenv.environment.generations:EnvironmentDir.switch", 1),  # a complete generation, not switched to
        ("kmenv.environment.generations:EnvironmentDir.write_state", 1),  # switched, the state not yet recorded
    ],
    ids=["mid-publish", "before-build", "mid-link", "before-switch", "before-state"],
)
def test_an_upgrade_killed_at_each_step_keeps_a_whole_generation(world: World, target: str, nth: int) -> None:
    assert world.kmenv("install").returncode == 0
    assert world.installed() == expected(V1)
    world.pin(2)

    upgraded_after(world, world.killed_at(target, nth))


def test_a_first_install_killed_leaves_no_environment_and_finishes_next_time(world: World) -> None:
    kill = world.killed_at("kmenv.environment.generations:EnvironmentDir.switch")
    assert kill.returncode == -signal.SIGKILL
    assert world.installed() is None
    assert world.kmenv("install").returncode == 0
    assert world.installed() == expected(V1)


def test_a_kill_mid_download_resumes_from_the_bytes_on_disk(world: World) -> None:
    assert world.kmenv("install").returncode == 0
    world.pin(2)
    weights = blob_route(V2["weights.bin"])
    world.throttle[weights] = 0.03  # about 2 MiB/s: the kill lands mid-transfer
    partial = world.cache / "partial"
    argv = [sys.executable, "-m", "kmenv", "-C", str(world.project), "install"]
    with subprocess.Popen(argv, env=world.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            written = sum(p.stat().st_size for p in partial.glob("*.tmp")) if partial.exists() else 0
            if written >= 1 << 20:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert world.installed() == expected(V1)
    assert not (world.cache / "blobs" / "sha256" / weights.split("/")[-1][:2] / weights.split("/")[-1]).exists()

    world.throttle[weights] = 0.0
    upgraded_after(world, subprocess.CompletedProcess(argv, -signal.SIGKILL, "", ""))
    resumed = world.server.hits("/" + weights)[-1]
    start = int(resumed.headers["Range"].removeprefix("bytes=").rstrip("-"))
    assert start >= 1 << 20, "the second run asked only for the bytes it lacked"
    assert resumed.headers["If-Range"] == f'"{len(V2["weights.bin"])}"', "the validator survived the kill"
