"""``kmenv whoami`` and ``kmenv login``: who Kaggle takes this machine's credentials for, and storing a key.

``whoami`` finds the credentials as every Kaggle call does (:mod:`kmenv.registry.kaggle.auth`) and
asks ``DiagnosticsService/Hello``, the check kagglehub's ``whoami()`` makes; the answer is never
cached, so it proves the credentials work now. ``login`` writes the ``kaggle.json`` the kaggle CLI
and kagglehub read, after the same check with the new key (unless told not to check).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kmenv.errors import UsageError

if TYPE_CHECKING:
    from kmenv.actions.project import Runtime

__all__ = ["LoginResult", "WhoAmI", "login", "whoami"]


@dataclass(frozen=True)
class WhoAmI:
    """Who Kaggle says the caller is, and where the credentials came from (never the secret)."""

    user: str
    source: str
    auth: str  # "token" (Bearer) or "basic" (username and key)
    api: str
    identity: str  # the digest the metadata cache files answers under

    def as_dict(self) -> dict[str, Any]:
        return {"user": self.user, "source": self.source, "auth": self.auth, "api": self.api, "identity": self.identity}


@dataclass(frozen=True)
class LoginResult:
    """Where the key went, for whom, and whether Kaggle confirmed it first."""

    path: Path
    user: str
    verified: bool
    replaced: bool  # a kaggle.json was there before

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "user": self.user, "verified": self.verified, "replaced": self.replaced}


def whoami(runtime: Runtime) -> WhoAmI:
    """The user Kaggle answers ``Hello`` with for the credentials found; none found is an error with a hint."""
    from kmenv.registry.kaggle.account import hello

    client = runtime.kaggle().client
    user = hello(client)
    found = client.credentials
    assert found is not None, "hello() refuses anonymous callers"
    return WhoAmI(user, found.source, found.kind, client.base_url, found.identity())


def login(
    runtime: Runtime,
    username: str,
    key: str,
    *,
    verify: bool = True,
    home: Path | None = None,
) -> LoginResult:
    """Check ``username``/``key`` with Kaggle (unless ``verify`` is false), then write them to ``kaggle.json``."""
    from kmenv.registry.kaggle.account import hello
    from kmenv.registry.kaggle.auth import Credentials, login_path, write_kaggle_json
    from kmenv.registry.kaggle.client import KaggleClient

    username, key = username.strip(), key.strip()
    if not username or not key:
        raise UsageError("a Kaggle username and key are both needed", hint="see https://www.kaggle.com/settings → API")
    user = username
    if verify:
        if runtime.settings.offline:
            raise UsageError(
                "offline: checking the key with Kaggle needs the network", hint="add --no-verify, or go online"
            )
        base = runtime.kaggle().client.base_url
        client = KaggleClient(base, credentials=Credentials("basic", "the key given to kmenv login", username, key))
        user = hello(client)
        if user.lower() != username.lower():
            raise UsageError(
                f"the key given belongs to Kaggle user {user!r}, not {username!r}",
                hint=f"run `kmenv login --username {user}` with this key, or use {username}'s key",
            )
    env = os.environ
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    path = login_path(env, home)
    replaced = path.is_file()
    write_kaggle_json(path, user, key)
    return LoginResult(path, user, verify, replaced)
