"""The kagglehub column of the credential matrix, checked with the real kagglehub against the emulator.

For each source, kagglehub's ``whoami()`` (its ``Hello`` call) and ``kmenv whoami`` run with the same
home folder and environment; the test asserts who each one signs in as — the same user where both
read the source, and what kagglehub does instead where the README says it differs (it never reads
the XDG folder or ``credentials.json``, and takes ``kaggle.json``'s own username over ``KAGGLE_USERNAME``).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from identities import BOB_KEY, CAROL_TOKEN

if TYPE_CHECKING:
    from conftest import Runner
    from kaggle_emulator import KaggleEmulator

pytest_plugins = ["kaggle_fixtures"]

pytest.importorskip("kagglehub", reason="kagglehub 1.0.3, the pinned official client, needs Python 3.11 or newer")

SCRIPT = """
import json, kagglehub
try:
    user = kagglehub.whoami(verbose=False)["username"]
except Exception:
    user = None
print("RESULT " + json.dumps(user))
"""
EMPTY_CONFIG = "empty-config"  # a KAGGLE_CONFIG_DIR holding nothing, for rows about other places


def _kagglehub_whoami(emulator: KaggleEmulator, env: dict[str, str]) -> str | None:
    full = {
        "PATH": os.environ.get("PATH", ""),
        "KAGGLE_API_ENVIRONMENT": "TEST",
        "HTTP_PROXY": emulator.origin,
        "http_proxy": emulator.origin,
        "DISABLE_KAGGLE_CACHE": "true",
        "DISABLE_COLAB_CACHE": "true",
        **env,
    }
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=full, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    found = json.loads(line[len("RESULT ") :])
    return None if found is None else str(found)


def _json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(0o600)


@pytest.mark.parametrize(
    ("source", "kmenv_user", "hub_user"),
    [
        ("KAGGLE_USERNAME + KAGGLE_KEY", "bob", "bob"),
        ("KAGGLE_API_TOKEN", "carol", "carol"),
        ("~/.kaggle/access_token", "carol", "carol"),
        ("~/.kaggle/kaggle.json", "bob", "bob"),
        ("$KAGGLE_CONFIG_DIR/kaggle.json", "bob", "bob"),
        ("~/.config/kaggle/kaggle.json", "bob", None),
        ("~/.kaggle/credentials.json", "dave", None),
        ("KAGGLE_USERNAME with the key of kaggle.json", "bob", None),
    ],
)
def test_kagglehub_reads_what_the_matrix_says(
    people: KaggleEmulator,
    kmenv: Runner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    source: str,
    kmenv_user: str,
    hub_user: str | None,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env: dict[str, str] = {"HOME": str(home), "KAGGLE_CONFIG_DIR": str(tmp_path / EMPTY_CONFIG)}
    if source == "KAGGLE_USERNAME + KAGGLE_KEY":
        env |= {"KAGGLE_USERNAME": "bob", "KAGGLE_KEY": BOB_KEY}
    elif source == "KAGGLE_API_TOKEN":
        env["KAGGLE_API_TOKEN"] = CAROL_TOKEN
    elif source == "~/.kaggle/access_token":
        (home / ".kaggle").mkdir()
        (home / ".kaggle" / "access_token").write_text(CAROL_TOKEN)
    elif source == "~/.kaggle/kaggle.json":
        del env["KAGGLE_CONFIG_DIR"]
        _json(home / ".kaggle" / "kaggle.json", {"username": "bob", "key": BOB_KEY})
    elif source == "$KAGGLE_CONFIG_DIR/kaggle.json":
        env["KAGGLE_CONFIG_DIR"] = str(tmp_path / "cfg")
        _json(tmp_path / "cfg" / "kaggle.json", {"username": "bob", "key": BOB_KEY})
    elif source == "~/.config/kaggle/kaggle.json":
        del env["KAGGLE_CONFIG_DIR"]
        _json(home / ".config" / "kaggle" / "kaggle.json", {"username": "bob", "key": BOB_KEY})
    elif source == "~/.kaggle/credentials.json":
        people.refresh_tokens["refresh-dave"] = "dave"
        people.tokens["oauth-dave"] = "dave"
        expires = (datetime.now(timezone.utc) + timedelta(hours=3)).isoformat()
        _json(home / ".kaggle" / "credentials.json",
              {"refresh_token": "refresh-dave", "access_token": "oauth-dave", "access_token_expiration": expires,
               "username": "dave", "scopes": []})  # fmt: skip
    else:  # KAGGLE_USERNAME with the key of kaggle.json
        del env["KAGGLE_CONFIG_DIR"]
        env["KAGGLE_USERNAME"] = "bob"
        _json(home / ".kaggle" / "kaggle.json", {"username": "someone-else", "key": BOB_KEY})

    before = len(people.requests_to("Hello"))
    assert _kagglehub_whoami(people, env) == hub_user
    hub_hello = people.requests_to("Hello")[before:]
    if source == "KAGGLE_USERNAME with the key of kaggle.json":
        # kagglehub sends the file's own pair, which Kaggle refuses; kmenv (like the kaggle CLI) sends bob's
        [sent] = hub_hello
        pair = base64.b64decode(sent.headers["Authorization"].split()[1]).decode()
        assert pair == f"someone-else:{BOB_KEY}"

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if "KAGGLE_CONFIG_DIR" not in env:
        monkeypatch.delenv("KAGGLE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    result = kmenv("whoami", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["user"] == kmenv_user
    ours = people.requests_to("Hello")[-1]
    if hub_hello and hub_user is not None:  # both asked the same question, in the same words
        assert (hub_hello[-1].path, hub_hello[-1].body) == (ours.path, ours.body)
        assert hub_hello[-1].headers["Authorization"] == ours.headers["Authorization"]


RENEW = """
from kagglesdk import KaggleClient, KaggleEnv
from kagglesdk.kaggle_creds import KaggleCredentials
with KaggleClient(env=KaggleEnv.TEST) as client:
    creds = KaggleCredentials.load(client=client)
    creds.refresh_access_token()
print("RESULT " + creds.get_username())
"""


def test_a_login_kagglesdk_renewed_is_read_by_kmenv_and_kmenv_renews_it_the_same_way(
    people: KaggleEmulator, kmenv: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """kagglesdk (what the kaggle CLI renews with) and kmenv send the same renewal and read each other's file."""
    people.refresh_tokens["refresh-dave"] = "dave"
    home = tmp_path / "home"
    path = home / ".kaggle" / "credentials.json"
    expired = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    login = {"refresh_token": "refresh-dave", "access_token": "old", "access_token_expiration": expired,
             "username": "dave", "scopes": ["resources.admin:*"]}  # fmt: skip
    _json(path, login)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "HTTP_PROXY": people.origin,
        "http_proxy": people.origin,
    }
    proc = subprocess.run([sys.executable, "-c", RENEW], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [theirs] = people.requests_to("GenerateAccessToken")
    renewed = json.loads(path.read_text())
    assert people.tokens[renewed["access_token"]] == "dave"

    monkeypatch.setenv("HOME", str(home))
    assert json.loads(kmenv("whoami", "--json").out)["user"] == "dave"
    assert len(people.requests_to("GenerateAccessToken")) == 1  # kmenv used the token kagglesdk saved
    assert people.requests_to("Hello")[-1].headers["Authorization"] == f"Bearer {renewed['access_token']}"

    _json(path, login)  # expired again: now kmenv renews it
    assert json.loads(kmenv("whoami", "--json").out)["user"] == "dave"
    ours = people.requests_to("GenerateAccessToken")[-1]
    assert (ours.path, ours.body) == (theirs.path, theirs.body)
    assert set(json.loads(path.read_text())) == set(renewed)  # the same file layout kagglesdk writes
