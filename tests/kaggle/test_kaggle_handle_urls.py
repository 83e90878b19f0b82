"""Kaggle web URLs and ``kaggle://`` addresses work wherever a handle does, kmodels.yaml included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Runner
    from kaggle_emulator import KaggleEmulator

pytest_plugins = ["kaggle_fixtures"]

WEB = "https://www.kaggle.com/models/keras/bert/Keras/bert_tiny_en_uncased"
BERT = "keras/bert/keras/bert_tiny_en_uncased"


@pytest.mark.parametrize("text", [f"{WEB}/1", f"kaggle://{BERT}/1", f"{BERT}/1"])
def test_show_reads_urls_like_handles(emulator: KaggleEmulator, kmenv: Runner, text: str) -> None:
    result = kmenv("show", text, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["chosen"]["handle"] == f"{BERT}/1"


def test_show_of_a_model_page_url(emulator: KaggleEmulator, kmenv: Runner) -> None:
    data = json.loads(kmenv("show", "https://www.kaggle.com/models/acme/base-llm", "--json").out)
    assert data["handle"] == "acme/base-llm" and data["chosen"] is None


def test_versions_and_download_read_urls(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    listing = json.loads(kmenv("versions", WEB, "--json").out)
    assert [r["version"] for r in listing["versions"]] == [2, 1]
    result = kmenv("download", f"kaggle://{BERT}/1", "--path", tmp_path, "--json")
    assert result.code == 0, result.err
    assert [d["handle"] for d in json.loads(result.out)["downloads"]] == [f"{BERT}/1"]


def test_a_url_that_is_not_a_model_page_is_a_usage_error(emulator: KaggleEmulator, kmenv: Runner) -> None:
    result = kmenv("show", "https://www.kaggle.com/datasets/keras/bert")
    assert result.code == 2 and "is not a Kaggle model page" in result.err
    assert emulator.seen == []


def test_add_writes_the_canonical_handle_and_kmodels_yaml_takes_urls(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path
) -> None:
    (tmp_path / "kmodels.yaml").write_text(
        f"version: 1\nmodels:\n  bert: {WEB}\n  chat: kaggle://acme/chat-llm/pytorch/small-chat@<2\n"
    )
    locked = kmenv("-C", tmp_path, "lock")
    assert locked.code == 0, locked.err
    lock = json.loads((tmp_path / "kmodels.lock").read_text())
    assert lock["models"]["bert"]["handle"] == BERT and lock["models"]["chat"]["handle"] == (
        "acme/chat-llm/pyTorch/small-chat"
    )
    added = kmenv(
        "-C", tmp_path, "add", "https://www.kaggle.com/models/acme/base-llm/PyTorch/small/2", "--name", "base"
    )
    assert added.code == 0, added.err
    assert "Added base: acme/base-llm/pyTorch/small/2" in added.out
    assert "base: acme/base-llm/pyTorch/small/2" in (tmp_path / "kmodels.yaml").read_text()
