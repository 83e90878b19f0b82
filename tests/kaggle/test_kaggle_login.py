"""``kmenv login`` checks the key with Kaggle's Hello, then writes the kaggle.json the official clients read."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import ALICE_KEY
from identities import BOB_KEY

if TYPE_CHECKING:
    from conftest import Runner
    from kaggle_emulator import KaggleEmulator

pytest_plugins = ["kaggle_fixtures"]


def _home() -> Path:
    return Path(os.environ["HOME"])


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_login_checks_then_writes_kaggle_json_mode_600(people: KaggleEmulator, kmenv: Runner,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _stdin(monkeypatch, BOB_KEY + "\n")
    result = kmenv("login", "--username", "bob")
    assert result.code == 0, result.err
    path = _home() / ".kaggle" / "kaggle.json"
    assert result.out.strip() == f"Signed in as bob: wrote {path} (mode 600; checked with Kaggle)"
    assert json.loads(path.read_text()) == {"username": "bob", "key": BOB_KEY}
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o077 == 0
    assert len(people.requests_to("Hello")) == 1
    assert BOB_KEY not in result.out + result.err
    # what kmenv (and so the kaggle CLI and kagglehub) now read from that file
    assert json.loads(kmenv("whoami", "--json").out)["user"] == "bob"
    assert list(path.parent.iterdir()) == [path]  # no temp file left beside it


def test_a_key_kaggle_refuses_writes_nothing(emulator: KaggleEmulator, kmenv: Runner,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _stdin(monkeypatch, "wrong-key-9999")
    result = kmenv("login", "--username", "alice")
    assert result.code == 5
    assert "rejected the credentials" in result.err and "wrong-key-9999" not in result.err
    assert not (_home() / ".kaggle").exists()


def test_key_file_may_be_the_downloaded_kaggle_json(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    downloaded = tmp_path / "kaggle.json"
    downloaded.write_text(json.dumps({"username": "alice", "key": ALICE_KEY}))
    result = kmenv("login", "--key-file", str(downloaded), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data == {"path": str(_home() / ".kaggle" / "kaggle.json"), "user": "alice", "verified": True,
                    "replaced": False, "schema_version": 1}  # fmt: skip


def test_key_of_another_user_is_refused(people: KaggleEmulator, kmenv: Runner,
                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _stdin(monkeypatch, BOB_KEY)
    # the emulator checks username and key together, so bob's key with alice's name is a 401
    assert kmenv("login", "--username", "alice").code == 5
    assert not (_home() / ".kaggle" / "kaggle.json").exists()


def test_no_verify_writes_without_asking_and_keeps_other_settings(emulator: KaggleEmulator, kmenv: Runner,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "cfg"))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "kaggle.json").write_text(json.dumps({"proxy": "http://proxy:3128", "username": "old"}))
    _stdin(monkeypatch, "not-checked-key")
    result = kmenv("login", "--username", "carl", "--no-verify", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["replaced"] is True
    written = json.loads((tmp_path / "cfg" / "kaggle.json").read_text())
    assert written == {"proxy": "http://proxy:3128", "username": "carl", "key": "not-checked-key"}
    assert emulator.requests_to("Hello") == []


def test_an_existing_xdg_kaggle_json_is_rewritten_where_it_is(emulator: KaggleEmulator, kmenv: Runner,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    xdg = _home() / ".config" / "kaggle" / "kaggle.json"
    xdg.parent.mkdir(parents=True)
    xdg.write_text(json.dumps({"username": "x", "key": "y"}))
    _stdin(monkeypatch, ALICE_KEY)
    assert kmenv("login", "--username", "alice").code == 0
    assert json.loads(xdg.read_text())["key"] == ALICE_KEY
    assert not (_home() / ".kaggle").exists()  # the kaggle CLI keeps reading the XDG file


def test_offline_login_needs_no_verify(emulator: KaggleEmulator, kmenv: Runner,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _stdin(monkeypatch, ALICE_KEY)
    result = kmenv("--offline", "login", "--username", "alice")
    assert result.code == 2 and "--no-verify" in result.err
