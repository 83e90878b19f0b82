"""Copies of a model version already on the machine are verified and used instead of downloaded.

kagglehub's cache is copied into the store; a Kaggle notebook's mount of an attached model is verified and then
linked where it is (no byte copied), and a mount that changes or disappears is noticed by the next install.
"""

from __future__ import annotations

import os
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


def attach(mount: Path) -> Path:
    """How a notebook sees bert version 2 attached to it: ``<mount>/<model>/<framework>/<variation>/<version>/``."""
    version = mount / "bert" / "keras" / "bert_tiny_en_uncased" / "2"
    for path, data in bert_files(2).items():
        target = version / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return version


@pytest.fixture
def notebook(kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A locked project, then a fresh store inside a "notebook" with bert 2 mounted; the project folder."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "kmodels.yaml").write_text(SPEC)
    assert kmenv("-C", project, "lock").code == 0
    shutil.rmtree(project / ".kmenv", ignore_errors=True)
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "fresh-cache"))
    monkeypatch.setenv("KMENV_DATA_DIR", str(tmp_path / "fresh-data"))
    monkeypatch.setenv("KAGGLE_CACHE_MOUNT_FOLDER", str(tmp_path / "input"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "empty-kh-cache"))
    attach(tmp_path / "input")
    return project


def blob_requests(emulator: KaggleEmulator, since: int) -> int:
    return len([s for s in emulator.seen[since:] if s.route == "blob"])


def test_the_mount_means_nothing_outside_a_notebook(emulator: KaggleEmulator, kmenv: Runner, notebook: Path) -> None:
    before = len(emulator.seen)
    result = kmenv("-C", notebook, "install")
    assert result.code == 0, result.err
    assert blob_requests(emulator, before) == len(bert_files(2))  # KAGGLE_KERNEL_RUN_TYPE unset: downloaded
    assert not (notebook / ".kmenv" / "models" / "bert" / "config.json").is_symlink()


def test_a_notebook_links_the_attached_model_copying_no_byte(
    emulator: KaggleEmulator, kmenv: Runner, notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    mounted = tmp_path / "input" / "bert" / "keras" / "bert_tiny_en_uncased" / "2"
    before = len(emulator.seen)
    result = kmenv("-C", notebook, "install")
    assert result.code == 0, result.err
    assert blob_requests(emulator, before) == 0
    # the notebook's own copy proves access, as a download would: Kaggle is not asked to authorise it either
    assert [s.route for s in emulator.seen[before:] if s.route == "DownloadModelInstanceVersion"] == []
    model = notebook / ".kmenv" / "models" / "bert"
    for path, data in bert_files(2).items():
        installed = model / path
        assert installed.is_symlink() and Path(os.readlink(installed)) == mounted / path  # the mounted file itself
        assert installed.read_bytes() == data
    store = tmp_path / "fresh-cache" / "blobs" / "sha256"
    blobs = [p for p in store.rglob("*") if not p.is_dir()]
    assert len(blobs) == len(bert_files(2)) and all(p.is_symlink() for p in blobs)  # the store holds no copy
    validated = kmenv("-C", notebook, "validate")
    assert validated.code == 0 and "all match the lock" in validated.out, validated.out + validated.err
    assert kmenv("-C", notebook, "install").out.startswith("Environment up to date")


def test_a_mounted_file_whose_bytes_changed_is_caught_before_use(
    emulator: KaggleEmulator, kmenv: Runner, notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    assert kmenv("-C", notebook, "install").code == 0
    config = tmp_path / "input" / "bert" / "keras" / "bert_tiny_en_uncased" / "2" / "config.json"
    config.write_bytes(config.read_bytes().replace(b"128", b"256"))  # same size, other bytes, new mtime
    validated = kmenv("-C", notebook, "validate")
    assert validated.code == 6 and "modified: bert/config.json" in validated.out, validated.out
    result = kmenv("-C", notebook, "install")  # not "up to date": the seal of the mounted file no longer holds
    assert result.code == 6 and "bert/config.json: sha256 mismatch" in result.err, result.out + result.err
    assert "attach the model version again" in result.err


def test_a_vanished_mount_is_downloaded_again(
    emulator: KaggleEmulator, kmenv: Runner, notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    assert kmenv("-C", notebook, "install").code == 0
    shutil.rmtree(tmp_path / "input")  # the notebook restarted without the model attached
    validated = kmenv("-C", notebook, "validate")
    assert validated.code == 6 and "missing: bert/config.json" in validated.out, validated.out
    before = len(emulator.seen)
    result = kmenv("-C", notebook, "install")
    assert result.code == 0, result.err
    assert blob_requests(emulator, before) == len(bert_files(2))
    for path, data in bert_files(2).items():
        installed = notebook / ".kmenv" / "models" / "bert" / path
        assert not installed.is_symlink() and installed.read_bytes() == data
    assert kmenv("-C", notebook, "validate").code == 0


def test_link_mode_copy_copies_the_mounted_files(
    emulator: KaggleEmulator, kmenv: Runner, notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    result = kmenv("-C", notebook, "install", "--link-mode", "copy")
    assert result.code == 0, result.err
    installed = notebook / ".kmenv" / "models" / "bert" / "config.json"
    assert not installed.is_symlink() and installed.read_bytes() == bert_files(2)["config.json"]


def test_a_new_project_in_a_notebook_locks_from_the_mount_downloading_nothing(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "kmodels.yaml").write_text(SPEC)  # no lock yet: Kaggle lists no sha256, the mount's files give them
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    monkeypatch.setenv("KAGGLE_CACHE_MOUNT_FOLDER", str(tmp_path / "input"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "empty-kh-cache"))
    attach(tmp_path / "input")
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    assert blob_requests(emulator, 0) == 0
    assert [s for s in emulator.seen if s.route == "DownloadModelInstanceVersion"] == []
    installed = project / ".kmenv" / "models" / "bert" / "config.json"
    assert installed.is_symlink() and installed.read_bytes() == bert_files(2)["config.json"]
    assert kmenv("-C", project, "validate").code == 0
    shutil.rmtree(tmp_path / "input")  # the lock holds the real sha256s: without the mount they are downloaded
    assert kmenv("-C", project, "install").code == 0
    assert blob_requests(emulator, 0) == len(bert_files(2))
    assert not installed.is_symlink() and installed.read_bytes() == bert_files(2)["config.json"]
