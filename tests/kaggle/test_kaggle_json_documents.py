"""The ``--json`` documents only a Kaggle API gives (whoami, login, download, validate DIR), and the discovery ones
as Kaggle fills them, each valid against its committed schema (see ``tests/test_json_documents.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from catalogue import ALICE_KEY
from json_documents import document
from test_json_documents import KAGGLE_KINDS

if TYPE_CHECKING:
    from conftest import Runner
    from identities import Who
    from kaggle_emulator import KaggleEmulator

pytest_plugins = ["kaggle_fixtures"]

BERT = "keras/bert/keras/bert_tiny_en_uncased"


def test_the_kaggle_documents_match_their_schemas(
    emulator: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path
) -> None:
    kinds: set[str] = set()

    def seen(kind: str, *args: str | Path, code: int = 0) -> dict[str, object]:
        result = kmenv(*args, "--json")
        assert result.code == code, f"{args}: exit {result.code}\n{result.err}"
        kinds.add(kind)
        return document(kind, result.out)

    key_file = tmp_path / "kaggle.json"
    key_file.write_text(json.dumps({"username": "alice", "key": ALICE_KEY}))
    assert seen("login", "login", "--key-file", key_file)["user"] == "alice"
    who("alice")
    assert seen("whoami", "whoami")["user"] == "alice"

    flat = seen("download", "download", BERT, "--path", tmp_path / "flat")
    assert flat["downloads"]
    seen("download", "download", BERT, "--nested", "--path", tmp_path / "nested")
    assert seen("validate-folder", "validate", tmp_path / "nested")["ok"] is True
    config = next((tmp_path / "nested").rglob("config.json"))
    config.chmod(0o644)
    config.write_text("{}")
    assert seen("validate-folder", "validate", tmp_path / "nested", code=6)["ok"] is False

    for kind, args in (
        ("search", ("search", "llm")),
        ("show", ("show", "keras/bert")),
        ("show", ("show", f"{BERT}/1")),
        ("versions", ("versions", BERT)),
        ("versions-files", ("versions", f"{BERT}/2", "--files")),
        ("compare", ("compare", BERT)),
    ):
        seen(kind, *args)
    doctor = kmenv("doctor", "--json")
    assert doctor.code == 0, doctor.out
    document("doctor", doctor.out)
    assert kinds >= KAGGLE_KINDS
