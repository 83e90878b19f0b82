"""``kmenv validate DIR``: a folder ``kmenv download`` wrote is checked against the manifest it left there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from kaggle_emulator import KaggleEmulator

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

BERT = "keras/bert/keras/bert_tiny_en_uncased"
FOLDER = "keras/bert/keras/bert_tiny_en_uncased/2"


def test_download_leaves_a_versioned_manifest_of_sizes_and_digests(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path
) -> None:
    assert kmenv("download", BERT, "--nested", "--path", tmp_path).code == 0
    folder = tmp_path / FOLDER
    manifest = json.loads((folder / ".kmenv-download.json").read_text())
    assert (manifest["format"], manifest["kind"], manifest["handle"]) == (1, "kmenv-download", f"{BERT}/2")
    assert [f["path"] for f in manifest["files"]] == sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != ".kmenv-download.json"
    )
    for entry in manifest["files"]:
        assert (folder / entry["path"]).stat().st_size == entry["size"] and len(entry["sha256"]) == 64
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]  # written atomically: no temp file left
    from jsonschema import Draft202012Validator

    from kmenv.actions.schemas import render

    schema = Draft202012Validator(json.loads(render("kmenv-download.schema.json")))
    assert list(schema.iter_errors(manifest)) == []
    # a second download of one more file into the same folder keeps what the first recorded
    assert kmenv("download", BERT, "--file", "config.json", "--nested", "--path", tmp_path).code == 0
    again = json.loads((folder / ".kmenv-download.json").read_text())
    assert again == manifest


def test_validate_dir_passes_then_names_every_kind_of_damage(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path
) -> None:
    assert kmenv("download", BERT, "--nested", "--path", tmp_path).code == 0
    clean = kmenv("validate", tmp_path / FOLDER)
    assert clean.code == 0, clean.err
    assert f"{tmp_path / FOLDER}: {BERT}/2, 4 files," in clean.out and "all match the manifest" in clean.out
    relative = kmenv("validate", "keras", cwd=tmp_path)  # folders are shown as DIR was written
    assert relative.out.startswith(f"{Path('keras/bert/keras/bert_tiny_en_uncased/2')}: {BERT}/2, 4 files,")
    # from the --path root, every download below it is found
    assert kmenv("validate", tmp_path).code == 0

    folder = tmp_path / FOLDER
    (folder / "config.json").write_bytes(b"X" + (folder / "config.json").read_bytes()[1:])  # same size
    (folder / "metadata.json").unlink()
    with open(folder / "model.weights.h5", "ab") as out:
        out.write(b"!")
    (folder / "notes.txt").write_text("mine")
    damaged = kmenv("validate", tmp_path)
    assert damaged.code == 6
    assert "4 problems" in damaged.out
    assert "  missing: metadata.json (26 bytes)" in damaged.out
    assert "  modified: config.json (sha256 " in damaged.out
    assert "  modified: model.weights.h5 (4097 bytes, recorded 4096)" in damaged.out
    assert "  extra: notes.txt (file)" in damaged.out
    data = json.loads(kmenv("validate", tmp_path, "--json").out)
    assert data["ok"] is False
    assert [p["kind"] for p in data["folders"][0]["problems"]] == ["missing", "modified", "modified", "extra"]


def test_validate_dir_without_a_manifest_or_with_a_bad_one_is_a_usage_error(kmenv: Runner, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "weights.bin").write_bytes(b"x")
    none = kmenv("validate", tmp_path / "plain")
    assert none.code == 2 and "no .kmenv-download.json in" in none.err
    (tmp_path / "plain" / ".kmenv-download.json").write_text('{"kind": "kmenv-download", "format": 99}')
    future = kmenv("validate", tmp_path / "plain")
    assert future.code == 2 and "manifest format 99; this kmenv reads format 1" in future.err
    (tmp_path / "plain" / ".kmenv-download.json").write_text("{not json")
    broken = kmenv("validate", tmp_path / "plain")
    assert broken.code == 2 and "not valid JSON" in broken.err and "Traceback" not in broken.err
    repair = kmenv("validate", tmp_path / "plain", "--repair")
    assert repair.code == 2 and "--repair rebuilds a project's environment" in repair.err


def test_a_path_escaping_the_folder_in_a_manifest_is_refused(kmenv: Runner, tmp_path: Path) -> None:
    bad = {
        "format": 1,
        "kind": "kmenv-download",
        "handle": "a/b/c/d/1",
        "registry": "kaggle",
        "files": [{"path": "../outside", "size": 1, "sha256": "0" * 64}],
    }
    (tmp_path / ".kmenv-download.json").write_text(json.dumps(bad))
    result = kmenv("validate", tmp_path)
    assert result.code == 2 and "files[0]" in result.err
