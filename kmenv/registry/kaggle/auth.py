"""Kaggle credentials, found where the official clients look, in their order; never shown anywhere.

Order (first match wins), as kagglehub/kagglesdk and the kaggle CLI 2.x read them:

1. inside a Kaggle notebook (``KAGGLE_KERNEL_RUN_TYPE`` and ``KAGGLE_DATA_PROXY_URL`` set): the
   token file named by ``KAGGLE_API_V1_TOKEN``;
2. ``KAGGLE_API_TOKEN``: a path to a token file when such a file exists, else the token itself;
3. ``~/.kaggle/access_token``, then ``~/.kaggle/access_token.txt`` (always under the home folder);
4. a username and key: ``KAGGLE_USERNAME``/``KAGGLE_KEY`` over the ``username``/``key`` of
   ``kaggle.json`` (the CLI folds the environment over the file, so ``KAGGLE_USERNAME`` alone takes
   its key from the file); ``kaggle.json`` lives in ``KAGGLE_CONFIG_DIR``, else ``~/.kaggle``, else
   (when ``~/.kaggle`` does not exist, on Linux, as the CLI does) ``$XDG_CONFIG_HOME/kaggle``, with
   ``XDG_CONFIG_HOME`` defaulting to ``~/.config``;
5. the OAuth login of ``kaggle auth login`` in ``~/.kaggle/credentials.json``
   (:mod:`~kmenv.registry.kaggle.oauth`): its access token while valid, else a renewed one;
6. nothing: anonymous (public models download without credentials).

Tokens go out as ``Authorization: Bearer``, username/key as HTTP Basic. The secret is excluded
from ``repr`` and never enters a message: errors name the *source* (``KAGGLE_KEY``), not the value.
A credential file others may read is warned about, as the kaggle CLI warns about ``kaggle.json``.

What Kaggle answered is cached per *identity* (:func:`identity_of`): a one-way digest of the
credentials (sha256 over a domain prefix, the kind, the username and the secret — for an OAuth
login the refresh token, which outlives each 12-hour access token), never the credentials
themselves; no credentials is the identity :data:`ANONYMOUS`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kmenv.errors import UsageError
from kmenv.fs.bounded import NotAFileError, TooLargeError, read_capped
from kmenv.registry.kaggle.oauth import LOGIN_COMMAND, OAUTH_FILE, Renew, load_login
from kmenv.values.documents import DocumentRefused, JsonBounds, parse_json

__all__ = [
    "ANONYMOUS",
    "CREDENTIALS_HINT",
    "Credentials",
    "find_credentials",
    "identity_of",
    "kaggle_json_path",
    "login_path",
    "warn_if_readable",
    "write_kaggle_json",
]

#: The identity of a run without credentials; what it was handed, Kaggle hands to anyone.
ANONYMOUS = "anonymous"
#: Keeps these digests apart from any other sha256 of the same secret.
_IDENTITY_DOMAIN = b"kmenv/kaggle-identity/v1\0"

CREDENTIALS_HINT = (
    "run `kmenv login` (writes ~/.kaggle/kaggle.json), or set KAGGLE_API_TOKEN (a token from "
    "https://www.kaggle.com/settings → API), or KAGGLE_USERNAME and KAGGLE_KEY; `kmenv whoami` checks them"
)


@dataclass(frozen=True)
class Credentials:
    """One set of credentials: a token (Bearer) or a username and key (Basic).

    ``source`` says where they came from (safe to show); ``secret`` is never shown. ``stable`` is
    what names the identity when the secret rotates (an OAuth refresh token); empty: the secret.
    """

    kind: str  # "token" or "basic"
    source: str
    username: str | None = None
    secret: str = field(default="", repr=False)
    stable: str = field(default="", repr=False)

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header these credentials send."""
        if self.kind == "token":
            return {"Authorization": f"Bearer {self.secret}"}
        pair = f"{self.username}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    def describe(self) -> str:
        """A safe one-line description: ``token from KAGGLE_API_TOKEN``, ``user alice from kaggle.json``."""
        who = f"user {self.username}" if self.username else "token"
        return f"{who} from {self.source}"

    def identity(self) -> str:
        """A one-way digest naming who these credentials are (see :func:`identity_of`)."""
        secret = f"oauth:{self.stable}" if self.stable else self.secret
        material = json.dumps([self.kind, self.username or "", secret]).encode()  # unambiguous, unlike a join
        return "id-" + hashlib.sha256(_IDENTITY_DOMAIN + material).hexdigest()[:40]

    def __repr__(self) -> str:
        return f"Credentials({self.describe()})"

    __str__ = __repr__


def identity_of(credentials: Credentials | None) -> str:
    """The cache scope of whoever sends ``credentials``: :data:`ANONYMOUS`, or ``id-`` and 40 hex digits.

    The digest changes with any part of the credentials, so a wrong key is a different identity
    (and is answered by Kaggle, not by what the right key was told). It is safe to keep on disk:
    Kaggle keys and tokens are long random strings, so the digest cannot be reversed into one.
    """
    return ANONYMOUS if credentials is None else credentials.identity()


_MAX_CREDENTIALS_BYTES = 64 * 1024
_CREDENTIALS_BOUNDS = JsonBounds(_MAX_CREDENTIALS_BYTES)


def warn_if_readable(path: Path, warn: Callable[[str], None]) -> None:
    """Warn when group or others may read a credential file (the kaggle CLI's check on kaggle.json)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if os.name != "nt" and mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
        warn(f"{path} is readable by other users; run `chmod 600 {path}`")


def _read_text(path: Path) -> str | None:
    """A credentials file's text; None when there is none (or a folder stands there). Never more than 64 KiB is
    read, and a FIFO or a device is refused, so a hostile path cannot hang the lookup."""
    try:
        data = read_capped(path, _MAX_CREDENTIALS_BYTES)
    except NotAFileError as exc:
        if exc.kind == "a folder":
            return None
        raise UsageError(f"Kaggle credentials at {path}: it is {exc.kind}, not a file", hint=CREDENTIALS_HINT) from None
    except TooLargeError:
        raise UsageError(f"Kaggle credentials at {path}: larger than 64 KiB", hint=CREDENTIALS_HINT) from None
    except OSError as exc:
        raise UsageError(f"cannot read Kaggle credentials at {path}: {exc.strerror}", hint=CREDENTIALS_HINT) from None
    try:
        return None if data is None else data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise UsageError(f"Kaggle credentials at {path} are not UTF-8 text", hint=CREDENTIALS_HINT) from None


def _token_file(path: Path, source: str, warn: Callable[[str], None] | None = None) -> Credentials | None:
    text = _read_text(path)
    if text and warn is not None:
        warn_if_readable(path, warn)
    return Credentials("token", source, secret=text) if text else None


def kaggle_json_path(env: Mapping[str, str], home: Path) -> Path:
    """The ``kaggle.json`` the kaggle CLI reads: ``KAGGLE_CONFIG_DIR``, else ``~/.kaggle``, else XDG on Linux."""
    config_dir = env.get("KAGGLE_CONFIG_DIR")
    if config_dir:
        return Path(config_dir).expanduser() / "kaggle.json"
    default = home / ".kaggle"
    if not default.exists() and sys.platform.startswith("linux"):
        xdg = env.get("XDG_CONFIG_HOME") or str(home / ".config")
        return Path(xdg) / "kaggle" / "kaggle.json"
    return default / "kaggle.json"


def _kaggle_json(path: Path, warn: Callable[[str], None]) -> dict[str, str] | None:
    """``username`` and ``key`` of ``kaggle.json`` (either may be absent); ``None`` when there is no file."""
    text = _read_text(path)
    if text is None:
        return None
    try:
        data = parse_json(text, _CREDENTIALS_BOUNDS)
    except DocumentRefused:  # its message may quote the file; a credentials file is never quoted
        raise UsageError(
            f"{path} is not valid JSON", hint=f"it should read {{'username': ..., 'key': ...}}; {CREDENTIALS_HINT}"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a JSON object", hint="download a fresh kaggle.json from your Kaggle settings")
    warn_if_readable(path, warn)
    return {name: str(data[name]) for name in ("username", "key") if data.get(name)}


def _username_and_key(env: Mapping[str, str], home: Path, warn: Callable[[str], None]) -> Credentials | None:
    """The legacy pair: the environment's over ``kaggle.json``'s, field by field (as the kaggle CLI folds them)."""
    username, key = env.get("KAGGLE_USERNAME", ""), env.get("KAGGLE_KEY", "")
    if username and key:
        return Credentials("basic", "KAGGLE_USERNAME/KAGGLE_KEY", username=username, secret=key)
    path = kaggle_json_path(env, home)
    stored = _kaggle_json(path, warn)
    if stored is None:
        return None
    if not stored:  # settings only (proxy, path): not credentials
        return None
    user, secret = username or stored.get("username", ""), key or stored.get("key", "")
    if not user or not secret:
        raise UsageError(
            f"{path} lacks 'username' or 'key'", hint="download a fresh kaggle.json from your Kaggle settings"
        )
    if username:
        source = f"KAGGLE_USERNAME with the key from {path}"
    elif key:
        source = f"KAGGLE_KEY with the username from {path}"
    else:
        source = str(path)
    return Credentials("basic", source, username=user, secret=secret)


def _oauth(
    home: Path, warn: Callable[[str], None], renew: Renew | None, now: Callable[[], datetime]
) -> Credentials | None:
    """The ``kaggle auth login`` token: used while valid, renewed with the refresh token when expired."""
    login = load_login(home, warn)
    if login is None:
        return None
    warn_if_readable(login.path, warn)
    moment = now()
    if not login.valid_at(moment):
        if renew is None:  # offline: nothing is sent, and the identity (of the refresh token) still finds the cache
            warn(
                f"the Kaggle access token in ~/{OAUTH_FILE} (from `kaggle auth login`) has expired; it is renewed "
                f"on the next online run, or run `{LOGIN_COMMAND}`"
            )
        else:
            login = login.renewed(renew, moment)
    source = f"~/{OAUTH_FILE} (kaggle auth login)"
    return Credentials(
        "token", source, username=login.username or None, secret=login.access_token, stable=login.refresh_token
    )


def find_credentials(
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    *,
    warn: Callable[[str], None] = lambda _message: None,
    renew: Renew | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> Credentials | None:
    """The first credentials found in the official order (see the module docstring); ``None`` = anonymous.

    A malformed ``kaggle.json`` is an error rather than a silent fall-through, as in the official
    clients. ``warn`` receives a message when a credential file is readable by other users.
    ``renew`` exchanges an OAuth refresh token for an access token (the API client supplies it;
    offline it does not): without it an expired OAuth login is returned as it is, with a warning
    that says what to run, so offline runs still find what its identity cached.
    """
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    if env.get("KAGGLE_KERNEL_RUN_TYPE") and env.get("KAGGLE_DATA_PROXY_URL") and env.get("KAGGLE_API_V1_TOKEN"):
        found = _token_file(Path(env["KAGGLE_API_V1_TOKEN"]), "KAGGLE_API_V1_TOKEN")
        if found:
            return found
    token = (env.get("KAGGLE_API_TOKEN") or "").strip()
    if token:
        candidate = Path(token).expanduser()
        if len(token) < 4096 and candidate.is_file():
            found = _token_file(candidate, f"the file named by KAGGLE_API_TOKEN ({candidate})", warn)
            if found:
                return found
        else:
            return Credentials("token", "KAGGLE_API_TOKEN", secret=token)
    for name in ("access_token", "access_token.txt"):
        found = _token_file(home / ".kaggle" / name, f"~/.kaggle/{name}", warn)
        if found:
            return found
    return _username_and_key(env, home, warn) or _oauth(home, warn, renew, now)


def login_path(env: Mapping[str, str], home: Path) -> Path:
    """Where ``kmenv login`` writes ``kaggle.json``: where the kaggle CLI reads it, kagglehub too when it can.

    ``KAGGLE_CONFIG_DIR`` when set (all three read it there); else an existing file the CLI reads
    (``~/.kaggle`` or the XDG folder); else ``~/.kaggle/kaggle.json``, which kagglehub also reads and
    which the CLI then prefers, because ``~/.kaggle`` exists from then on.
    """
    chosen = kaggle_json_path(env, home)
    if env.get("KAGGLE_CONFIG_DIR") or chosen.is_file():
        return chosen
    return home / ".kaggle" / "kaggle.json"


def write_kaggle_json(path: Path, username: str, key: str) -> None:
    """Store ``username``/``key`` in ``path`` (other settings there kept), atomically, mode 600, folder 700."""
    from kmenv.fs.atomic import write_atomic

    kept: dict[str, object] = {}
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(existing, dict):
            kept = existing
    except (OSError, ValueError):
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(path, json.dumps({**kept, "username": username, "key": key}, indent=2) + "\n", mode=0o600)
