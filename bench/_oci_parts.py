"""Pieces of bench_oci.py: a docker-registry in a temp folder, model trees, OCI layouts and hashing.

Kept apart so that the benchmark itself reads as the list of figures it measures.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench_download import MiB, free_port, write_random

RAW = "application/vnd.cncf.model.weight.v1.raw"


@dataclass(frozen=True)
class Model:
    """One model of a generated lock: its handle and its files (path in the version → size)."""

    name: str
    handle: str
    files: dict[str, int]

    @property
    def size(self) -> int:
        return sum(self.files.values())


def models_of(prefix: str, total: int, shares: Sequence[tuple[float, int]]) -> list[Model]:
    """Models splitting ``total`` bytes by ``shares`` (share of the total, number of files), each file >= 64 KiB."""
    out = []
    for i, (share, count) in enumerate(shares):
        each = max(int(total * share) // count, 64 << 10)
        files = {f"weights/shard-{n:03d}.bin": each for n in range(count)}
        out.append(Model(f"{prefix}{i}", f"bench/{prefix}{i}/pyTorch/default", files))
    return out


def write_source(source: Path, models: Sequence[Model], seed: int) -> None:
    """The ``kmenv registry build`` source tree of ``models`` (version 1 each), random bytes."""
    meta = '{"license": "Apache 2.0", "published": "2026-01-01T00:00:00Z"}'
    for m, model in enumerate(models):
        version = source / model.handle / "1"
        version.mkdir(parents=True)
        (version / "version.json").write_text(meta)
        for f, (path, size) in enumerate(sorted(model.files.items())):
            write_random(version / path, size, seed + 1000 * m + f)


def project(folder: Path, url: str, models: Sequence[Model]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", "registries:", "  bench:", f"    url: {url}", "models:"]
    lines += [f"  {m.name}: {m.handle}" for m in models]
    (folder / "kmodels.yaml").write_text("\n".join(lines) + "\n")
    return folder


# --- docker-registry ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    host: str
    root: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}"


@contextmanager
def docker_registry(binary: str, folder: Path) -> Iterator[Registry]:
    """Distribution on 127.0.0.1, plain HTTP, anonymous push and pull, storage in ``folder`` (as tests/oci does)."""
    folder.mkdir(parents=True)
    host = f"127.0.0.1:{free_port()}"
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: {host}, secret: kmenv-bench-only}}\n"
    )
    log = folder / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"docker-registry did not start: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://{host}/v2/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.05)
        yield Registry(host, folder)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- baselines' inputs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    """One file of the lock as a registry blob: the repository it belongs to, its digest and where it is on disk."""

    repository: str
    sha256: str
    size: int
    path: Path


def locked_blobs(lock: Path, namespace: str, blob_path: Path) -> list[Blob]:
    """Every file ``lock`` names, as a blob of its instance's repository under ``namespace`` (kmenv's layout)."""
    models = json.loads(lock.read_text())["models"]
    found = []
    for model in models.values():
        repository = f"{namespace}/{model['handle']}".lower()
        for entry in model["files"]:
            sha = entry["sha256"]
            found.append(Blob(repository, sha, entry["size"], blob_path / sha[:2] / sha))
    return sorted(found, key=lambda b: (b.repository, b.sha256))


def oci_layouts(blobs: Sequence[Blob], folder: Path) -> list[tuple[Path, str]]:
    """One OCI image layout per repository holding its blobs (hard links) as a ModelPack artifact tagged ``1``.

    Returns (layout, repository) pairs, for ``skopeo copy oci:LAYOUT:1 docker://HOST/NS/REPOSITORY:1``.
    """
    by_repo: dict[str, list[Blob]] = {}
    for blob in blobs:
        by_repo.setdefault(blob.repository, []).append(blob)
    out = []
    for n, (repository, items) in enumerate(sorted(by_repo.items())):
        layout = folder / f"layout-{n}"
        store = layout / "blobs" / "sha256"
        store.mkdir(parents=True)

        layers = []
        for i, blob in enumerate(items):
            if not (store / blob.sha256).exists():
                os.link(blob.path, store / blob.sha256)
            annotations = {"org.cncf.model.filepath": f"file-{i}", "org.opencontainers.image.title": f"file-{i}"}
            layers.append({"mediaType": RAW, "digest": f"sha256:{blob.sha256}", "size": blob.size,
                           "annotations": annotations})  # fmt: skip
        config = json.dumps({"descriptor": {"name": repository}, "modelfs": {"type": "layers"}}).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.cncf.model.manifest.v1+json",
                "config": {"mediaType": "application/vnd.cncf.model.config.v1+json",
                           "digest": f"sha256:{_put(store, config)}", "size": len(config)},
                "layers": layers,
            }
        ).encode()  # fmt: skip
        index = {"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{_put(store, manifest)}",
            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "1"}}]}  # fmt: skip
        (layout / "index.json").write_text(json.dumps(index))
        (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        out.append((layout, repository.split("/", 1)[1]))
    return out


def _put(store: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (store / digest).write_bytes(data)
    return digest


def curl_put_script(blobs: Sequence[Blob], base: str, namespace: str) -> str:
    """A shell script uploading every blob with curl, one at a time: POST for a location, then one PUT."""
    lines = ["set -e"]
    for blob in blobs:
        repository = f"{namespace}/{blob.repository.split('/', 1)[1]}"
        lines.append(
            f"loc=$(curl -sSf -X POST -o /dev/null -D - '{base}/v2/{repository}/blobs/uploads/' "
            "| sed -n 's/^[Ll]ocation: *//p' | tr -d '\\r')"
        )
        lines.append('case "$loc" in /*) loc="' + base + '$loc";; esac')
        lines.append(
            f"curl -sSf -o /dev/null -T '{blob.path}' -H 'Content-Type: application/octet-stream' "
            f'"$loc&digest=sha256:{blob.sha256}"'
        )
    return "\n".join(lines) + "\n"


def curl_get_command(blobs: Sequence[Blob], base: str, out: Path) -> list[str]:
    """One curl fetching every blob in turn over one connection, as a plain client of the registry would."""
    cmd = ["curl", "-sSf", "-L"]
    for n, blob in enumerate(blobs):
        cmd += ["-o", str(out / f"{n}.bin"), f"{base}/v2/{blob.repository}/blobs/sha256:{blob.sha256}"]
    return cmd


# --- checking ----------------------------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (following links), by path; two threads (hashlib frees the GIL)."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    with ThreadPoolExecutor(2) as pool:
        digests = list(pool.map(_digest, paths))
    return {p.relative_to(folder).as_posix(): d for p, d in zip(paths, digests, strict=True)}


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
