"""What commands report against the Kaggle emulator is what happened: bytes learned while locking, fresh versions
with ``--refresh``, a mistyped name as a user error with a suggestion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import bert_files
from kaggle_emulator import KaggleEmulator

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

SPEC = """\
version: 1
registries:
  kaggle:
    type: kaggle
models:
  bert: keras/bert/keras/bert_tiny_en_uncased
"""
BERT_BYTES = sum(len(data) for data in bert_files(2).values())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "kmodels.yaml").write_text(SPEC)
    return folder


def test_a_fresh_install_shows_the_bytes_locking_downloaded(
    emulator: KaggleEmulator, project: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", project, "install").code == 0, "install"
    rows = json.loads(kmenv("usage", "--json").out)["models"]
    (bert,) = [r for r in rows if r["handle"] == "keras/bert/keras/bert_tiny_en_uncased"]
    assert bert["downloaded"] == BERT_BYTES  # learned while locking: the install itself fetched nothing
    assert bert["download_seconds"] > 0 and bert["throughput"] is not None
    table = kmenv("usage").out
    assert "downloaded" in table and "0 B" not in table.splitlines()[1]


def test_download_json_reports_what_was_fetched(emulator: KaggleEmulator, tmp_path: Path, kmenv: Runner) -> None:
    handle = "keras/bert/keras/bert_tiny_en_uncased/2"
    first = kmenv("download", handle, "--path", tmp_path / "a", "--json")
    assert first.code == 0, first.err
    (done,) = json.loads(first.out)["downloads"]
    assert done["fetched"] == len(bert_files(2)) and done["fetched_bytes"] == BERT_BYTES
    again = kmenv("download", handle, "--path", tmp_path / "b", "--json")
    (cached,) = json.loads(again.out)["downloads"]
    assert cached["fetched"] == 0 and cached["fetched_bytes"] == 0  # the store had every file
