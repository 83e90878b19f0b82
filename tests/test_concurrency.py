"""Concurrent ``kmenv install`` processes: one shared cache downloads each blob once; one environment serialises.

Real processes against a local registry served over HTTP, slowed down so that the runs overlap.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fetch_faults import FaultServer, fault_servers, serve_folder, write_model_source, write_project

from kmenv.registry.static.build import build_registry

SHARED = {"weights.bin": os.urandom(3 << 20), "config.json": b'{"shared": true}'}
OWN = {name: {"weights.bin": os.urandom(1 << 20), "config.json": name.encode()} for name in ("a", "b", "c", "d")}
INSTANCES = {"acme/shared/pyTorch/default": {1: SHARED}} | {
    f"acme/{name}/pyTorch/default": {1: files} for name, files in OWN.items()
}


def blob_route(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"/files/sha256/{sha[:2]}/{sha}"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[FaultServer]:
    build_registry(write_model_source(tmp_path / "source", INSTANCES), tmp_path / "registry", name="acme")
    throttle = {blob_route(SHARED["weights.bin"]).lstrip("/"): 0.01}  # ~6 MiB/s: the runs overlap
    with fault_servers() as start:
        server = start()
        serve_folder(server, tmp_path / "registry", throttle=throttle)
        yield server


def run_together(projects: list[Path], cache: Path) -> list[subprocess.CompletedProcess[str]]:
    """Start one ``kmenv install`` per project at once and wait for all of them."""
    env = {**os.environ, "KMENV_CACHE_DIR": str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "kmenv", "-C", str(p), "install"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in projects
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def blob_downloads(server: FaultServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for seen in server.seen:
        if seen.path.startswith("/files/"):
            counts[seen.path] = counts.get(seen.path, 0) + 1
    return counts


def installed(project: Path, name: str) -> dict[str, bytes]:
    folder = project / ".kmenv" / "models" / name
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_overlapping_installs_into_one_cache_download_each_blob_once(registry: FaultServer, tmp_path: Path) -> None:
    projects = [
        write_project(
            tmp_path / f"project-{name}",
            registry.url + "/",
            {"shared": "acme/shared/pyTorch/default", name: f"acme/{name}/pyTorch/default"},
        )
        for name in OWN
    ]
    results = run_together(projects, tmp_path / "cache")

    assert [r.returncode for r in results] == [0] * len(projects), [r.stderr for r in results]
    assert set(blob_downloads(registry).values()) == {1}, "every blob was downloaded by exactly one process"
    for project, name in zip(projects, OWN, strict=True):
        assert installed(project, "shared") == SHARED
        assert installed(project, name) == OWN[name]
    assert not list((tmp_path / "cache" / "partial").iterdir())


def test_installs_into_one_environment_run_one_at_a_time(registry: FaultServer, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "project",
        registry.url + "/",
        {"shared": "acme/shared/pyTorch/default", "a": "acme/a/pyTorch/default"},
    )
    results = run_together([project] * 4, tmp_path / "cache")

    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    summaries = sorted(r.stdout.strip().splitlines()[-1].split(" (")[0] for r in results)
    assert summaries == ["Environment up to date"] * 3 + ["Installed 2 models into " + str(project / ".kmenv")]
    assert sorted(p.name for p in (project / ".kmenv" / "generations").iterdir() if not p.name.startswith(".")) == ["1"]
    assert set(blob_downloads(registry).values()) == {1}
    assert installed(project, "shared") == SHARED and installed(project, "a") == OWN["a"]
