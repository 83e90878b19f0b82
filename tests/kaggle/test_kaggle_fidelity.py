"""Fidelity: the official ``kagglehub`` client downloads from the same emulator and gets the same bytes as kmenv.

kagglehub >= 0.4 takes no URL: ``KAGGLE_API_ENVIRONMENT=TEST`` makes it call
``http://localhost:7777/api/v1/...`` and ``HTTP_PROXY`` sends those requests (and the blob
redirects) to the emulator's port on 127.0.0.1 instead. It runs in a subprocess with its own
HOME, config dir and cache, so nothing outside the test is read or written. If the emulator drifted
into something only kmenv understands, kagglehub would fail here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from kaggle_emulator import KaggleEmulator

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

pytest.importorskip("kagglehub", reason="kagglehub 1.0.3, the pinned official client, needs Python 3.11 or newer")

SCRIPT = """
import json, sys
import kagglehub
print("RESULT " + json.dumps([kagglehub.model_download(h) for h in sys.argv[1:]]))
"""
HANDLES = ["keras/bert/keras/bert_tiny_en_uncased", "acme/shards/pyTorch/many/1", "acme/chat-llm/pyTorch/small-chat/1"]


def kagglehub_download(emulator: KaggleEmulator, tmp_path: Path, handles: list[str]) -> list[Path]:
    home = tmp_path / "kh-home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "KAGGLE_CONFIG_DIR": str(home / "config"),
        "KAGGLEHUB_CACHE": str(tmp_path / "kh-cache"),
        "KAGGLE_API_ENVIRONMENT": "TEST",
        "HTTP_PROXY": emulator.origin,
        "http_proxy": emulator.origin,
        "DISABLE_KAGGLE_CACHE": "true",
        "DISABLE_COLAB_CACHE": "true",
    }
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *handles], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return [Path(p) for p in json.loads(result[len("RESULT ") :])]


def tree(folder: Path) -> dict[str, bytes]:
    """The model files of a folder (without the manifest kmenv download leaves for `kmenv validate DIR`)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".kmenv-download.json"
    }


def test_kagglehub_and_kmenv_get_byte_identical_files(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    theirs = kagglehub_download(emulator, tmp_path, HANDLES)
    hub_requests = list(emulator.seen)
    assert any(s.route == "DownloadModelInstanceVersion" and s.body and "path" not in s.body for s in hub_requests)
    assert any(s.route == "DownloadModelInstanceVersion" and s.body and "path" in s.body for s in hub_requests)
    result = kmenv("download", *HANDLES, "--nested", "--path", tmp_path / "ours", "--json")
    assert result.code == 0, result.err
    ours = [Path(d["path"]) for d in json.loads(result.out)["downloads"]]
    for hub_folder, our_folder in zip(theirs, ours, strict=True):
        assert tree(hub_folder) == tree(our_folder)
        assert len(tree(our_folder)) > 0
    # Both clients describe an instance to the API in exactly the same words.
    hub_get = next(s for s in hub_requests if s.route == "GetModelInstance")
    our_get = next(s for s in emulator.seen[len(hub_requests) :] if s.route == "GetModelInstance")
    assert hub_get.path == our_get.path and hub_get.body == our_get.body
