"""The OAuth credentials ``kaggle auth login`` keeps in ``~/.kaggle/credentials.json``: read, judge, renew, save.

The kaggle CLI (2.x) writes ``{"refresh_token", "access_token", "access_token_expiration", "username",
"scopes"}`` there (always under the home folder, mode 600) and, when the access token has expired,
asks ``users.AccountService/GenerateAccessToken`` for a new one with the refresh token (a 12-hour
token by default), then writes the file again. kmenv does the same through a ``renew`` callable the
API client supplies, so this module does no network I/O itself. A file without a refresh token, or
that is not JSON, is ignored, as the CLI ignores it (with a warning here, so the user is not left
wondering why the run is anonymous).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kmenv.fs.atomic import write_atomic

__all__ = [
    "LOGIN_COMMAND",
    "OAUTH_FILE",
    "OAuthLogin",
    "Renew",
    "load_login",
    "save_login",
]

#: Where the kaggle CLI keeps its OAuth login, relative to the home folder (``KAGGLE_CONFIG_DIR`` is not read).
OAUTH_FILE = Path(".kaggle") / "credentials.json"
#: What a user runs to sign in again when the refresh token no longer works.
LOGIN_COMMAND = "kaggle auth login --force"
#: An access token this close to its expiry is renewed first, so it does not expire during the run.
EXPIRY_MARGIN = timedelta(minutes=2)
#: How long a renewed access token is asked to live: the kaggle CLI's default.
TOKEN_LIFETIME = timedelta(hours=12)

#: ``renew(refresh_token, lifetime)`` → (new access token, seconds it lives); raises a KmenvError when refused.
Renew = Callable[[str, timedelta], tuple[str, float]]


@dataclass(frozen=True)
class OAuthLogin:
    """One OAuth login; the tokens are never shown (``repr`` names the user and the expiry only)."""

    path: Path
    refresh_token: str = field(repr=False)
    access_token: str = field(default="", repr=False)
    expires: datetime | None = None
    username: str = ""
    scopes: tuple[str, ...] = ()

    def valid_at(self, now: datetime) -> bool:
        """The access token may be sent: present, with a known expiry not within :data:`EXPIRY_MARGIN` of ``now``."""
        return bool(self.access_token) and self.expires is not None and self.expires - EXPIRY_MARGIN > now

    def renewed(self, renew: Renew, now: datetime) -> OAuthLogin:
        """A fresh access token from the refresh token, saved back to the file (mode 600) as the kaggle CLI does."""
        token, lifetime = renew(self.refresh_token, TOKEN_LIFETIME)
        fresh = replace(self, access_token=token, expires=now + timedelta(seconds=lifetime))
        save_login(fresh)
        return fresh


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def load_login(home: Path, warn: Callable[[str], None]) -> OAuthLogin | None:
    """The login in ``~/.kaggle/credentials.json``, or ``None`` when there is none the kaggle CLI would use."""
    path = home / OAUTH_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        warn(f"cannot read {path} ({exc.strerror}); its Kaggle login is not used")
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("refresh_token"):
        warn(f"{path} holds no refresh token; it is ignored (as the kaggle CLI ignores it): run `{LOGIN_COMMAND}`")
        return None
    scopes = data.get("scopes")
    return OAuthLogin(
        path=path,
        refresh_token=str(data["refresh_token"]),
        access_token=str(data.get("access_token") or ""),
        expires=_parse_time(data.get("access_token_expiration")),
        username=str(data.get("username") or ""),
        scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
    )


def save_login(login: OAuthLogin) -> None:
    """Write ``login`` in the kaggle CLI's layout, atomically and readable by its owner only."""
    data = {
        "refresh_token": login.refresh_token,
        "access_token": login.access_token,
        "access_token_expiration": login.expires.isoformat() if login.expires else "",
        "username": login.username,
        "scopes": list(login.scopes),
    }
    login.path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(login.path, json.dumps(data, indent=2) + "\n", mode=0o600)
