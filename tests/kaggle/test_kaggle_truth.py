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


@pytest.mark.parametrize("command", ["outdated", "upgrade"])
def test_refresh_sees_a_version_published_just_now(
    emulator: KaggleEmulator, project: Path, kmenv: Runner, command: str
) -> None:
    assert kmenv("-C", project, "install").code == 0
    model = emulator.find("keras", "bert")
    assert model is not None
    model.instances[0].versions[3] = bert_files(3)  # published after the metadata was cached

    def latest(*extra: str) -> int:
        args = ["outdated", "--json"] if command == "outdated" else ["upgrade", "--dry-run", "--json"]
        result = kmenv("-C", project, *args, *extra)
        assert result.code == 0, result.err
        data = json.loads(result.out)
        if command == "outdated":
            (bert,) = data["models"]
            return int(bert["latest"])
        moves = {m["name"]: m["new"] for m in data["moves"]}
        return int(moves.get("bert", 2))

    assert latest() == 2  # the cached answer is still fresh: version 3 is not seen yet
    assert latest("--refresh") == 3


@pytest.mark.parametrize(
    ("handle", "message"),
    [
        ("keras/bret/keras/bert_tiny_en_uncased", "Kaggle has no model keras/bret"),
        ("kerass/bert/keras/bert_tiny_en_uncased", "Kaggle has no model kerass/bert"),
        ("keras/bert/keras/bert_tiny_en_uncasd", "Kaggle model keras/bert has no instance keras/bert_tiny_en_uncasd"),
    ],
)
def test_a_mistyped_handle_is_a_user_error_with_a_suggestion(
    emulator: KaggleEmulator, project: Path, kmenv: Runner, handle: str, message: str
) -> None:
    (project / "kmodels.yaml").write_text(SPEC.replace("keras/bert/keras/bert_tiny_en_uncased", handle))
    result = kmenv("-C", project, "lock")
    assert result.code == 2, result.err  # the name is wrong: not a network error (5)
    assert message in result.err
    assert "did you mean keras/bert/keras/bert_tiny_en_uncased?" in result.err


def test_a_version_never_published_is_a_user_error_listing_the_versions(
    emulator: KaggleEmulator, tmp_path: Path, kmenv: Runner
) -> None:
    result = kmenv("download", "keras/bert/keras/bert_tiny_en_uncased/7", "--path", tmp_path)
    assert result.code == 2, result.err
    assert "has no version 7" in result.err and "its versions: 1, 2" in result.err


def test_an_upgrade_records_what_learning_the_new_version_downloaded(
    emulator: KaggleEmulator, project: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", project, "install").code == 0
    model = emulator.find("keras", "bert")
    assert model is not None
    model.instances[0].versions[3] = bert_files(3)
    result = kmenv("-C", project, "upgrade", "--refresh")
    assert result.code == 0, result.err
    (bert,) = json.loads(kmenv("usage", "--json").out)["models"]
    # of version 3's files only the weights changed; the others were known by md5 and not fetched again
    assert bert["downloaded"] == BERT_BYTES + len(bert_files(3)["model.weights.h5"])
