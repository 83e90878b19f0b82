"""kmenv asks Kaggle no more than the official client does for the same handle, and never probes.

The emulator logs every request; ``kagglehub.model_download`` and ``kmenv download`` fetch the same
version from cold caches, and kmenv's count must not exceed kagglehub's. A file whose bytes are
already in the store (its md5 known) costs kmenv the download request and a reply's headers, no body.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from kaggle_emulator import KaggleEmulator

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture
pytest.importorskip("kagglehub", reason="kagglehub 1.0.3, the pinned official client, needs Python 3.11 or newer")

from test_kaggle_fidelity import kagglehub_download  # noqa: E402 - after the skip, like the module it comes from

BERT = "keras/bert/keras/bert_tiny_en_uncased"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_cold_download_makes_no_more_requests_than_kagglehub(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path
) -> None:
    kagglehub_download(emulator, tmp_path, [f"{BERT}/2"])
    theirs = len(emulator.seen)
    result = kmenv("download", f"{BERT}/2", "--path", tmp_path / "ours", "--json")
    assert result.code == 0, result.err
    ours = emulator.seen[theirs:]
    files = len(json.loads(result.out)["downloads"][0]["files"])
    assert files >= 3
    assert len(ours) <= theirs, [(s.route, s.headers.get("Range")) for s in ours]
    assert not any(s.headers.get("Range") == "bytes=0-0" for s in ours), "no one-byte probe"
    assert len([s for s in ours if s.route == "blob"]) == files, "one blob request per file"


def test_a_file_already_in_the_store_stops_at_the_reply_headers(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path
) -> None:
    assert kmenv("download", f"{BERT}/1", "--path", tmp_path / "one").code == 0
    # config.json is the same in version 2. Its reply is cut mid-body: reading the body would fail
    # and retry; stopping at the headers (its md5 is in the store's index) never notices.
    emulator.fault("blob", "drop", path="config.json")
    before = len(emulator.seen)
    result = kmenv("download", f"{BERT}/2", "--path", tmp_path / "two", "--json")
    assert result.code == 0, result.err
    files = json.loads(result.out)["downloads"][0]["files"]
    blob_gets = [s for s in emulator.seen[before:] if s.route == "blob"]
    assert len(blob_gets) == len(files) == 4, "one request per file: no probe, no retry"
    placed = Path(json.loads(result.out)["downloads"][0]["path"]) / "config.json"
    assert placed.read_bytes() == b'{"vocab_size": 30522, "hidden_dim": 128}'


def _second_arrives_while_first_runs(emulator: KaggleEmulator, tmp_path: Path, argv: list[str]) -> bool:
    """Run ``kmenv argv`` on a slow model and a fast one; whether the fast one's blob lands while the slow one runs."""
    fast = random.Random(2).randbytes(64 << 10)
    emulator.add_instance("acme", "slowone", "pyTorch", "base", {1: {"slow.bin": random.Random(1).randbytes(3 << 20)}})
    emulator.add_instance("acme", "fastone", "pyTorch", "base", {1: {"fast.bin": fast}})
    emulator.fault("blob", "slow", delay=0.2, times=1000, path="slow.bin")  # ten seconds or more
    cache = tmp_path / "cache"
    env = {**os.environ, "KMENV_CACHE_DIR": str(cache), "KMENV_KAGGLE_URL": emulator.url}
    fast_blob = cache / "blobs" / "sha256" / sha(fast)[:2] / sha(fast)
    with subprocess.Popen([sys.executable, "-m", "kmenv", *argv], env=env, stderr=subprocess.DEVNULL) as proc:
        deadline = time.monotonic() + 8
        while not fast_blob.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        slow_still_running = proc.poll() is None
        proc.kill()
    return fast_blob.exists() and slow_still_running


def test_kmenv_download_of_several_handles_fetches_them_at_once(emulator: KaggleEmulator, tmp_path: Path) -> None:
    argv = [
        "download",
        "acme/slowone/pyTorch/base/1",
        "acme/fastone/pyTorch/base/1",
        "--nested",
        "--path",
        str(tmp_path / "dl"),
    ]
    assert _second_arrives_while_first_runs(emulator, tmp_path, argv), "the second handle waited for the first"


def test_a_lock_learns_every_model_at_once(emulator: KaggleEmulator, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "kmodels.yaml").write_text(
        "version: 1\nregistries:\n  kaggle:\n    type: kaggle\nmodels:\n"
        "  aslow: acme/slowone/pyTorch/base\n  zfast: acme/fastone/pyTorch/base\n"  # slow first by name
    )
    argv = ["-C", str(project), "lock"]
    assert _second_arrives_while_first_runs(emulator, tmp_path, argv), "the second model waited for the first"
