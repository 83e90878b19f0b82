"""The credential matrix: every place the official clients look, through ``kmenv whoami`` against the emulator.

Each row sets up one source (environment and files under a scratch home), runs ``kmenv whoami --json``
and checks the user Kaggle answered ``Hello`` with, the source named, and the identity digest the
metadata cache files answers under — the same digest :class:`Credentials` gives for those secrets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import ALICE_KEY, ALICE_TOKEN
from identities import BOB_KEY, CAROL_TOKEN

from kmenv.registry.kaggle.auth import Credentials

if TYPE_CHECKING:
    from conftest import Runner
    from kaggle_emulator import KaggleEmulator

pytest_plugins = ["kaggle_fixtures"]  # `emulator`, `people`

REFRESH = "refresh-dave-0123456789"


def _home() -> Path:
    return Path(os.environ["HOME"])


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def _kaggle_json(folder: Path, username: str, key: str) -> Path:
    return _write(folder / "kaggle.json", json.dumps({"username": username, "key": key}))


def _oauth(access: str, expires: datetime, refresh: str = REFRESH, username: str = "dave") -> Path:
    data = {
        "refresh_token": refresh,
        "access_token": access,
        "access_token_expiration": expires.isoformat(),
        "username": username,
        "scopes": ["resources.admin:*"],
    }
    return _write(_home() / ".kaggle" / "credentials.json", json.dumps(data))


@dataclass(frozen=True)
class Row:
    """One source: how to set it up, who Kaggle should say it is, what source kmenv should name."""

    name: str
    setup: Callable[[pytest.MonkeyPatch, Path], None]
    user: str
    source: str  # a substring of the source kmenv reports
    credentials: Credentials  # what the identity digest must be made of


def _env(**values: str) -> Callable[[pytest.MonkeyPatch, Path], None]:
    def setup(monkeypatch: pytest.MonkeyPatch, _tmp: Path) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return setup


def _token_file_env(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", str(_write(tmp / "token.txt", CAROL_TOKEN + "\n")))


def _notebook(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    monkeypatch.setenv("KAGGLE_DATA_PROXY_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KAGGLE_API_V1_TOKEN", str(_write(tmp / "nb-token", CAROL_TOKEN)))
    monkeypatch.setenv("KAGGLE_API_TOKEN", ALICE_TOKEN)  # the notebook's own token comes first


def _access_token_file(name: str) -> Callable[[pytest.MonkeyPatch, Path], None]:
    def setup(monkeypatch: pytest.MonkeyPatch, _tmp: Path) -> None:
        _write(_home() / ".kaggle" / name, CAROL_TOKEN)
        _kaggle_json(_home() / ".kaggle", "bob", BOB_KEY)  # a token file beats the username/key

    return setup


def _config_dir(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    _kaggle_json(_home() / ".kaggle", "alice", ALICE_KEY)
    _kaggle_json(tmp / "cfg", "bob", BOB_KEY)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp / "cfg"))


def _home_kaggle(monkeypatch: pytest.MonkeyPatch, _tmp: Path) -> None:
    _kaggle_json(_home() / ".kaggle", "bob", BOB_KEY)
    _kaggle_json(_home() / ".config" / "kaggle", "alice", ALICE_KEY)  # ~/.kaggle exists: the XDG folder is not read


def _xdg_default(monkeypatch: pytest.MonkeyPatch, _tmp: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    _kaggle_json(_home() / ".config" / "kaggle", "bob", BOB_KEY)


def _xdg_set(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    _kaggle_json(_home() / ".config" / "kaggle", "alice", ALICE_KEY)
    _kaggle_json(tmp / "xdg" / "kaggle", "bob", BOB_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp / "xdg"))


def _username_env_key_file(monkeypatch: pytest.MonkeyPatch, _tmp: Path) -> None:
    _kaggle_json(_home() / ".kaggle", "somebody-else", BOB_KEY)
    monkeypatch.setenv("KAGGLE_USERNAME", "bob")


def _oauth_valid(monkeypatch: pytest.MonkeyPatch, _tmp: Path) -> None:
    _oauth("oauth-dave-valid", datetime.now(timezone.utc) + timedelta(hours=6))


ROWS = [
    Row("notebook token file", _notebook, "carol", "KAGGLE_API_V1_TOKEN", Credentials("token", "", secret=CAROL_TOKEN)),
    Row("KAGGLE_API_TOKEN value", _env(KAGGLE_API_TOKEN=CAROL_TOKEN, KAGGLE_USERNAME="alice", KAGGLE_KEY=ALICE_KEY),
        "carol", "KAGGLE_API_TOKEN", Credentials("token", "", secret=CAROL_TOKEN)),
    Row("KAGGLE_API_TOKEN file", _token_file_env, "carol", "the file named by KAGGLE_API_TOKEN",
        Credentials("token", "", secret=CAROL_TOKEN)),
    Row("~/.kaggle/access_token", _access_token_file("access_token"), "carol", "~/.kaggle/access_token",
        Credentials("token", "", secret=CAROL_TOKEN)),
    Row("~/.kaggle/access_token.txt", _access_token_file("access_token.txt"), "carol", "~/.kaggle/access_token.txt",
        Credentials("token", "", secret=CAROL_TOKEN)),
    Row("KAGGLE_USERNAME + KAGGLE_KEY", _env(KAGGLE_USERNAME="bob", KAGGLE_KEY=BOB_KEY), "bob",
        "KAGGLE_USERNAME/KAGGLE_KEY", Credentials("basic", "", username="bob", secret=BOB_KEY)),
    Row("KAGGLE_USERNAME + key of kaggle.json", _username_env_key_file, "bob", "KAGGLE_USERNAME with the key from",
        Credentials("basic", "", username="bob", secret=BOB_KEY)),
    Row("$KAGGLE_CONFIG_DIR/kaggle.json", _config_dir, "bob", "cfg/kaggle.json",
        Credentials("basic", "", username="bob", secret=BOB_KEY)),
    Row("~/.kaggle/kaggle.json", _home_kaggle, "bob", ".kaggle/kaggle.json",
        Credentials("basic", "", username="bob", secret=BOB_KEY)),
    Row("~/.config/kaggle/kaggle.json, XDG_CONFIG_HOME unset", _xdg_default, "bob", ".config/kaggle/kaggle.json",
        Credentials("basic", "", username="bob", secret=BOB_KEY)),
    Row("$XDG_CONFIG_HOME/kaggle/kaggle.json", _xdg_set, "bob", "xdg/kaggle/kaggle.json",
        Credentials("basic", "", username="bob", secret=BOB_KEY)),
    Row("~/.kaggle/credentials.json (valid)", _oauth_valid, "dave", "credentials.json (kaggle auth login)",
        Credentials("token", "", username="dave", secret="oauth-dave-valid", stable=REFRESH)),
]  # fmt: skip


@pytest.fixture
def dave(people: KaggleEmulator) -> KaggleEmulator:
    """Dave signed in with ``kaggle auth login``: a refresh token, and an access token that is still valid."""
    people.refresh_tokens[REFRESH] = "dave"
    people.tokens["oauth-dave-valid"] = "dave"
    return people


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_credential_matrix(row: Row, dave: KaggleEmulator, kmenv: Runner, monkeypatch: pytest.MonkeyPatch,
                           tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    row.setup(monkeypatch, tmp_path)
    result = kmenv("whoami", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["user"] == row.user
    assert row.source in data["source"]
    assert data["identity"] == row.credentials.identity()
    assert data["api"] == dave.url
    for secret in (ALICE_KEY, BOB_KEY, CAROL_TOKEN, ALICE_TOKEN, REFRESH, "oauth-dave-valid"):
        assert secret not in result.out + result.err
    assert "Authorization" in dave.requests_to("Hello")[-1].headers


def test_no_credentials_is_a_usage_error_with_the_ways_to_sign_in(emulator: KaggleEmulator, kmenv: Runner) -> None:
    result = kmenv("whoami")
    assert result.code == 2
    assert "no Kaggle credentials found" in result.err and "kmenv login" in result.err
    assert emulator.requests_to("Hello") == []  # nothing to ask about


def test_wrong_key_is_rejected_by_hello(emulator: KaggleEmulator, kmenv: Runner,
                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", "wrong-key-9999")
    result = kmenv("whoami")
    assert result.code == 5
    assert "rejected the credentials (user alice from KAGGLE_USERNAME/KAGGLE_KEY)" in result.err
    assert "wrong-key-9999" not in result.err


def test_whoami_text_names_user_and_source(people: KaggleEmulator, kmenv: Runner) -> None:
    _kaggle_json(_home() / ".kaggle", "bob", BOB_KEY)
    result = kmenv("whoami")
    assert result.out.strip() == f"bob (signed in with a username and key from {_home() / '.kaggle' / 'kaggle.json'})"


def test_expired_oauth_token_is_renewed_and_saved_like_the_kaggle_cli(dave: KaggleEmulator, kmenv: Runner) -> None:
    path = _oauth("oauth-dave-old", datetime.now(timezone.utc) - timedelta(minutes=5))
    first = json.loads(kmenv("whoami", "--json").out)
    assert first["user"] == "dave"
    [renewal] = dave.requests_to("GenerateAccessToken")
    assert renewal.body == {"refreshToken": REFRESH, "apiVersion": "API_VERSION_V1", "expirationDuration": "43200s"}
    assert "Authorization" not in renewal.headers  # the refresh token is the credential
    saved = json.loads(path.read_text())
    assert saved["refresh_token"] == REFRESH and saved["username"] == "dave"
    assert saved["access_token"] != "oauth-dave-old" and dave.tokens[saved["access_token"]] == "dave"
    expires = datetime.fromisoformat(saved["access_token_expiration"])
    assert timedelta(hours=11) < expires - datetime.now(timezone.utc) <= timedelta(hours=12)
    assert path.stat().st_mode & 0o777 == 0o600
    # the renewed token is used as is next time, and the identity survives the renewal
    second = json.loads(kmenv("whoami", "--json").out)
    assert len(dave.requests_to("GenerateAccessToken")) == 1
    assert second["identity"] == first["identity"]
    hello = dave.requests_to("Hello")[-1]
    assert hello.headers["Authorization"] == f"Bearer {saved['access_token']}"


def test_refused_renewal_says_to_sign_in_again(dave: KaggleEmulator, kmenv: Runner) -> None:
    path = _oauth("oauth-dave-old", datetime.now(timezone.utc) - timedelta(hours=1), refresh="revoked-refresh")
    before = path.read_text()
    result = kmenv("whoami")
    assert result.code == 5
    assert "refused to renew the expired access token" in result.err
    assert "kaggle auth login --force" in result.err
    assert "revoked-refresh" not in result.err
    assert path.read_text() == before  # a refused renewal leaves the login as it was


def test_expired_oauth_token_offline_is_not_renewed_and_still_finds_the_cache(
    dave: KaggleEmulator, kmenv: Runner
) -> None:
    _oauth("oauth-dave-valid", datetime.now(timezone.utc) + timedelta(hours=1))
    assert kmenv("search", "bert").code == 0  # cached under dave's identity
    _oauth("oauth-dave-old", datetime.now(timezone.utc) - timedelta(hours=1))
    result = kmenv("--offline", "search", "bert")
    assert result.code == 0, result.err
    assert json.loads(kmenv("--offline", "search", "bert", "--json").out)["models"][0]["handle"] == "keras/bert"
    assert "has expired; it is renewed on the next online run, or run `kaggle auth login --force`" in result.err
    assert dave.requests_to("GenerateAccessToken") == []


def test_oauth_comes_after_username_and_key(dave: KaggleEmulator, kmenv: Runner,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _oauth_valid(monkeypatch, Path())
    _kaggle_json(_home() / ".kaggle", "bob", BOB_KEY)
    assert json.loads(kmenv("whoami", "--json").out)["user"] == "bob"


def test_oauth_file_without_refresh_token_is_ignored_with_a_warning(emulator: KaggleEmulator, kmenv: Runner) -> None:
    _write(_home() / ".kaggle" / "credentials.json", json.dumps({"access_token": "x"}))
    result = kmenv("whoami")
    assert result.code == 2
    assert "holds no refresh token; it is ignored" in result.err


@pytest.mark.parametrize("which", ["kaggle.json", "credentials.json", "access_token"])
def test_every_credential_file_others_can_read_is_warned_about(which: str, dave: KaggleEmulator, kmenv: Runner,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    folder = _home() / ".kaggle"
    if which == "kaggle.json":
        path = _kaggle_json(folder, "bob", BOB_KEY)
    elif which == "credentials.json":
        path = _oauth("oauth-dave-valid", datetime.now(timezone.utc) + timedelta(hours=2))
    else:
        path = _write(folder / "access_token", CAROL_TOKEN)
    path.chmod(0o644)
    result = kmenv("whoami")
    assert result.code == 0
    assert f"{path} is readable by other users; run `chmod 600 {path}`" in result.err
    path.chmod(0o600)
    assert "readable by other users" not in kmenv("whoami").err
