"""``kmenv download --path DIR`` writes into DIR itself, as ``kaggle -p`` and ``hf download --local-dir`` do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from kaggle_emulator import KaggleEmulator

from kmenv.store.roots import read_download_roots

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

BERT = "keras/bert/keras/bert_tiny_en_uncased"
MANIFEST = ".kmenv-download.json"


def names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_path_dir_holds_the_files_the_manifest_and_a_gc_root(
    emulator: KaggleEmulator, kmenv: Runner, isolated_dirs: Path, tmp_path: Path
) -> None:
    target = tmp_path / "bert"
    result = kmenv("download", f"{BERT}/1", "--path", target, "--json")
    assert result.code == 0, result.err
    (download,) = json.loads(result.out)["downloads"]
    assert Path(download["path"]) == target
    placed = sorted(f["path"] for f in download["files"])
    assert names(target) == sorted([*placed, MANIFEST])  # no owner/model/... folders in between
    assert json.loads((target / MANIFEST).read_text())["handle"] == f"{BERT}/1"
    (root,) = read_download_roots(isolated_dirs / "cache")
    assert root.folder == target and sorted(root.files) == placed
    checked = kmenv("validate", target)
    assert checked.code == 0 and "all match the manifest" in checked.out, checked.err


def test_nested_keeps_one_folder_per_version_and_is_the_default_without_path(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path
) -> None:
    assert kmenv("download", f"{BERT}/1", "--nested", "--path", tmp_path / "n").code == 0
    assert (tmp_path / "n" / BERT / "1" / MANIFEST).is_file()
    here = tmp_path / "here"
    here.mkdir()
    assert kmenv("download", f"{BERT}/1", cwd=here).code == 0
    assert (here / BERT / "1" / MANIFEST).is_file()


def test_several_handles_into_one_folder_are_refused(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    result = kmenv("download", f"{BERT}/1", "acme/shards/pyTorch/many", "--path", tmp_path / "x")
    assert result.code == 2 and "2 handles were given" in result.err and "--nested" in result.err
    assert not (tmp_path / "x").exists()
