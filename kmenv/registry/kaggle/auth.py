"""Kaggle credentials, found where the official clients look, in their order; never shown anywhere.

Order (first match wins), as kagglehub/kagglesdk and the kaggle CLI read them:

1. inside a Kaggle notebook (``KAGGLE_KERNEL_RUN_TYPE`` and ``KAGGLE_DATA_PROXY_URL`` set): the
   token file named by ``KAGGLE_API_V1_TOKEN``;
2. ``KAGGLE_API_TOKEN``: a path to a token file when such a file exists, else the token itself;
3. ``~/.kaggle/access_token``, then ``~/.kaggle/access_token.txt`` (always under the home folder);
4. ``KAGGLE_USERNAME`` + ``KAGGLE_KEY`` (both non-empty);
5. ``kaggle.json`` in ``KAGGLE_CONFIG_DIR``, else ``~/.kaggle``, else (when ``~/.kaggle`` does not exist,
   as the CLI does on Linux) ``$XDG_CONFIG_HOME/kaggle``;
6. nothing: anonymous (public models download without credentials).

Tokens go out as ``Authorization: Bearer``, username/key as HTTP Basic. The secret is excluded
from ``repr`` and never enters a message: errors name the *source* (``KAGGLE_KEY``), not the value.

What Kaggle answered is cached per *identity* (:func:`identity_of`): a one-way digest of the
credentials (sha256 over a domain prefix, the kind, the username and the secret), never the
credentials themselves; no credentials is the identity :data:`ANONYMOUS`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kmenv.errors import UsageError
from kmenv.fs.bounded import NotAFileError, TooLargeError, read_capped
from kmenv.values.documents import DocumentRefused, JsonBounds, parse_json

__all__ = ["ANONYMOUS", "CREDENTIALS_HINT", "Credentials", "find_credentials", "identity_of"]

#: The identity of a run without credentials; what it was handed, Kaggle hands to anyone.
ANONYMOUS = "anonymous"
#: Keeps these digests apart from any other sha256 of the same secret.
_IDENTITY_DOMAIN = b"kmenv/kaggle-identity/v1\0"

CREDENTIALS_HINT = (
    "set KAGGLE_API_TOKEN (a token from https://www.kaggle.com/settings → API), or KAGGLE_USERNAME and "
    "KAGGLE_KEY, or put kaggle.json in ~/.kaggle (or KAGGLE_CONFIG_DIR) with mode 600"
)


@dataclass(frozen=True)
class Credentials:
    """One set of credentials: a token (Bearer) or a username and key (Basic).

    ``source`` says where they came from (safe to show); ``secret`` is never shown.
    """

    kind: str  # "token" or "basic"
    source: str
    username: str | None = None
    secret: str = field(default="", repr=False)

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
        material = json.dumps([self.kind, self.username or "", self.secret]).encode()  # unambiguous, unlike a join
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


def _token_file(path: Path, source: str) -> Credentials | None:
    text = _read_text(path)
    return Credentials("token", source, secret=text) if text else None


def _kaggle_json_path(env: Mapping[str, str], home: Path) -> Path:
    config_dir = env.get("KAGGLE_CONFIG_DIR")
    if config_dir:
        return Path(config_dir).expanduser() / "kaggle.json"
    default = home / ".kaggle"
    if not default.exists() and env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"]) / "kaggle" / "kaggle.json"
    return default / "kaggle.json"


def _kaggle_json(path: Path, warn: Callable[[str], None]) -> Credentials | None:
    text = _read_text(path)
    if text is None:
        return None
    try:
        data = parse_json(text, _CREDENTIALS_BOUNDS)
    except DocumentRefused:  # its message may quote the file; a credentials file is never quoted
        raise UsageError(
            f"{path} is not valid JSON", hint=f"it should read {{'username': ..., 'key': ...}}; {CREDENTIALS_HINT}"
        ) from None
    if not isinstance(data, dict) or not data.get("username") or not data.get("key"):
        raise UsageError(
            f"{path} lacks 'username' or 'key'", hint="download a fresh kaggle.json from your Kaggle settings"
        )
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(f"{path} is readable by other users; run `chmod 600 {path}`")
    return Credentials("basic", str(path), username=str(data["username"]), secret=str(data["key"]))


def find_credentials(
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    *,
    warn: Callable[[str], None] = lambda _message: None,
) -> Credentials | None:
    """The first credentials found in the official order (see the module docstring); ``None`` = anonymous.

    A malformed ``kaggle.json`` is an error rather than a silent fall-through, as in the official
    clients. ``warn`` receives a message when ``kaggle.json`` is readable by other users.
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
            found = _token_file(candidate, f"the file named by KAGGLE_API_TOKEN ({candidate})")
            if found:
                return found
        else:
            return Credentials("token", "KAGGLE_API_TOKEN", secret=token)
    for name in ("access_token", "access_token.txt"):
        found = _token_file(home / ".kaggle" / name, f"~/.kaggle/{name}")
        if found:
            return found
    username, key = env.get("KAGGLE_USERNAME", ""), env.get("KAGGLE_KEY", "")
    if username and key:
        return Credentials("basic", "KAGGLE_USERNAME/KAGGLE_KEY", username=username, secret=key)
    return _kaggle_json(_kaggle_json_path(env, home), warn)
