"""A model version kagglehub already downloaded is verified and ingested from its cache instead of downloaded."""

from __future__ import annotations

import shutil
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
policy:
  licenses:
    allow: [Apache-2.0]
models:
  bert: keras/bert/keras/bert_tiny_en_uncased
"""


def fake_kagglehub_cache(root: Path, *, marked: bool) -> Path:
    """kagglehub's layout for bert version 2: the files, and the whole-version marker when ``marked``."""
    variation = root / "models" / "keras" / "bert" / "keras" / "bert_tiny_en_uncased"
    for path, data in bert_files(2).items():
        target = variation / "2" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if marked:
        (variation / "2.complete").touch()
    return root


@pytest.mark.parametrize("marked", [True, False])
def test_install_takes_kagglehubs_finished_copy(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marked: bool
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "kmodels.yaml").write_text(SPEC)
    assert kmenv("-C", project, "lock").code == 0  # learning sha256s fills the first store
    shutil.rmtree(project / ".kmenv", ignore_errors=True)
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "fresh-cache"))  # an empty store: nothing to reuse
    monkeypatch.setenv("KMENV_DATA_DIR", str(tmp_path / "fresh-data"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(fake_kagglehub_cache(tmp_path / "kh-cache", marked=marked)))
    before = len(emulator.seen)
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    blobs = [s for s in emulator.seen[before:] if s.route == "blob"]
    assert (blobs == []) is marked  # an unfinished copy (no marker) is not trusted: it is downloaded
    for path, data in bert_files(2).items():
        assert (project / ".kmenv" / "models" / "bert" / path).read_bytes() == data


def test_a_tampered_copy_is_refused_not_installed(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "kmodels.yaml").write_text(SPEC)
    assert kmenv("-C", project, "lock").code == 0
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "fresh-cache"))
    monkeypatch.setenv("KMENV_DATA_DIR", str(tmp_path / "fresh-data"))
    cache = fake_kagglehub_cache(tmp_path / "kh-cache", marked=True)
    config = cache / "models" / "keras" / "bert" / "keras" / "bert_tiny_en_uncased" / "2" / "config.json"
    config.write_bytes(config.read_bytes().replace(b"128", b"256"))  # same size, other bytes
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(cache))
    result = kmenv("-C", project, "install")
    assert result.code == 6 and "config.json: sha256 mismatch" in result.err  # IntegrityError; nothing installed
    assert not (project / ".kmenv" / "models" / "bert").exists()


def test_install_in_a_kaggle_notebook_takes_the_attached_model(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "kmodels.yaml").write_text(SPEC)
    assert kmenv("-C", project, "lock").code == 0
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "fresh-cache"))
    monkeypatch.setenv("KMENV_DATA_DIR", str(tmp_path / "fresh-data"))
    mount = tmp_path / "input"
    for path, data in bert_files(2).items():  # how a notebook sees an attached model version
        target = mount / "bert" / "keras" / "bert_tiny_en_uncased" / "2" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    monkeypatch.setenv("KAGGLE_CACHE_MOUNT_FOLDER", str(mount))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "empty-kh-cache"))
    for in_notebook in (False, True):
        if in_notebook:
            monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
        shutil.rmtree(tmp_path / "fresh-cache", ignore_errors=True)
        shutil.rmtree(project / ".kmenv", ignore_errors=True)
        before = len(emulator.seen)
        result = kmenv("-C", project, "install")
        assert result.code == 0, result.err
        blobs = [s for s in emulator.seen[before:] if s.route == "blob"]
        assert (blobs == []) is in_notebook  # outside a notebook the mount folder means nothing
        assert (project / ".kmenv" / "models" / "bert" / "config.json").read_bytes() == bert_files(2)["config.json"]
