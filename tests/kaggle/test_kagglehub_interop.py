"""kagglehub inside a kmenv project: ``kmenv.use_kagglehub()`` makes ``kagglehub.model_download`` answer locked
handles from the installed environment, without a single request, and leaves every other handle to kagglehub.

The calls run in a subprocess, the way user code would run them, with kagglehub pointed at the emulator the same
way ``test_kaggle_fidelity.py`` points it (``KAGGLE_API_ENVIRONMENT=TEST`` plus ``HTTP_PROXY``), so a call that did
reach the network would show in the emulator's request log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import bert_files
from kaggle_emulator import KaggleEmulator

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

pytest.importorskip("kagglehub", reason="kagglehub 1.0.3, the pinned official client, needs Python 3.11 or newer")

BERT = "keras/bert/keras/bert_tiny_en_uncased"
SPEC = f"""\
version: 1
registries:
  kaggle:
    type: kaggle
policy:
  licenses:
    allow: [Apache-2.0, MIT]
models:
  bert: {BERT}
"""
# Each call's outcome on one line: the path, or the error's class and message (the hint too, for kmenv's errors).
SCRIPT = """
import json, sys
import kagglehub, kmenv
kmenv.use_kagglehub()
for call in json.loads(sys.argv[1]):
    try:
        out = {"path": kagglehub.model_download(call[0], *call[1:])}
    except Exception as exc:
        out = {"error": type(exc).__name__, "message": str(exc), "hint": getattr(exc, "hint", None)}
    print("RESULT " + json.dumps(out), flush=True)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "kmodels.yaml").write_text(SPEC)
    (folder / "code").mkdir()  # the script runs below the project folder, as user code does
    return folder


def hub_calls(emulator: KaggleEmulator, cwd: Path, calls: list[list[str]]) -> list[dict[str, str]]:
    """Run ``calls`` (handle, optional path) through kagglehub in a subprocess; one outcome per call."""
    env = {
        **os.environ,  # the test's isolated KMENV_* folders and HOME
        "KAGGLEHUB_CACHE": str(cwd.parent / "kh-cache"),
        "KAGGLE_API_ENVIRONMENT": "TEST",
        "HTTP_PROXY": emulator.origin,
        "http_proxy": emulator.origin,
        "DISABLE_KAGGLE_CACHE": "true",
        "DISABLE_COLAB_CACHE": "true",
    }
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(calls)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line[len("RESULT ") :]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(results) == len(calls), proc.stderr[-3000:]
    return results


def test_locked_handles_get_the_installed_folder_without_a_request(
    emulator: KaggleEmulator, project: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", project, "install").code == 0
    installed = (project / ".kmenv" / "models" / "bert").resolve()
    before = len(emulator.seen)
    unpinned, pinned, upper, one_file = hub_calls(
        emulator,
        project / "code",
        [[BERT], [f"{BERT}/2"], [BERT.upper()], [BERT, "assets/tokenizer/vocabulary.txt"]],
    )
    assert emulator.seen[before:] == []  # nothing reached the network
    assert Path(unpinned["path"]) == installed and Path(pinned["path"]) == installed
    assert Path(upper["path"]) == installed  # Kaggle compares handles case-insensitively
    assert Path(one_file["path"]) == installed / "assets" / "tokenizer" / "vocabulary.txt"
    assert Path(one_file["path"]).read_bytes() == bert_files(2)["assets/tokenizer/vocabulary.txt"]
    usage = kmenv("usage", "--json")
    assert usage.code == 0, usage.err
    assert {m["uses"] for m in json.loads(usage.out)["models"]} == {4}  # each call is a `use`, as kmenv.path is


def test_other_handles_still_go_to_kagglehub(emulator: KaggleEmulator, project: Path, kmenv: Runner) -> None:
    assert kmenv("-C", project, "install").code == 0
    before = len(emulator.seen)
    (other,) = hub_calls(emulator, project / "code", [["acme/base-llm/pyTorch/small/1"]])
    assert "error" not in other, other
    assert (Path(other["path"]) / "weights.bin").read_bytes() == b"base weights v1" * 50
    assert project / ".kmenv" not in Path(other["path"]).parents
    assert any(s.route == "DownloadModelInstanceVersion" for s in emulator.seen[before:])


def test_a_pin_the_lock_does_not_hold_says_what_to_change(
    emulator: KaggleEmulator, project: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", project, "install").code == 0
    before = len(emulator.seen)
    wrong, missing = hub_calls(emulator, project / "code", [[f"{BERT}/1"], [BERT, "no/such/file.bin"]])
    assert emulator.seen[before:] == []  # an error, never a quiet download of another version
    assert wrong["error"] == "UsageError"
    assert "at version 2" in wrong["message"] and f"{BERT}/2" in wrong["hint"]
    assert missing["error"] == "NotInstalledError" and "no/such/file.bin" in missing["message"]


def test_a_locked_but_not_installed_model_names_the_install_command(
    emulator: KaggleEmulator, project: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", project, "lock").code == 0
    before = len(emulator.seen)
    (result,) = hub_calls(emulator, project / "code", [[BERT]])
    assert emulator.seen[before:] == []
    assert result["error"] == "NotInstalledError"
    assert result["hint"] == f"run `kmenv -C {project} install`"
    # A lock changed after the install is the same: the environment no longer matches it.
    assert kmenv("-C", project, "install").code == 0
    lock = project / "kmodels.lock"
    lock.write_text(lock.read_text() + "\n")
    (stale,) = hub_calls(emulator, project / "code", [[BERT]])
    assert stale["error"] == "NotInstalledError"
