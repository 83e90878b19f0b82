"""Registry logins where container tools keep them: podman's auth.json, Docker's config.json, credential helpers.

Looked up in podman's order, first match wins: ``$REGISTRY_AUTH_FILE``,
``${XDG_RUNTIME_DIR}/containers/auth.json``, ``$XDG_CONFIG_HOME/containers/auth.json`` (else
``~/.config/…``), then ``$DOCKER_CONFIG/config.json`` (else ``~/.docker/config.json``). In a file,
``credHelpers[host]`` and then ``credsStore`` name a ``docker-credential-NAME`` program asked with
``get``; otherwise ``auths[key].auth`` is base64 ``user:password``. A key may be ``host[:port]``, a URL
of it, or ``host/path`` for one namespace (the longest matching one wins). A :class:`Login` never
shows its secret, and warnings name a file, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Login", "auth_files", "find_login"]

_MAX_FILE = 1 << 20
_HELPER_TIMEOUT = 30.0


@dataclass(frozen=True)
class Login:
    """A user name and password (or token) for one registry host; ``source`` says where it was found."""

    username: str
    password: str = field(repr=False)
    source: str = ""


def auth_files(environ: os._Environ[str] | dict[str, str] | None = None) -> list[Path]:
    """The credential files container tools read, in the order they are consulted."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    files: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        files.append(Path(env["REGISTRY_AUTH_FILE"]))
    if env.get("XDG_RUNTIME_DIR"):
        files.append(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    files.append(Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "containers" / "auth.json")
    files.append(
        Path(env["DOCKER_CONFIG"]) / "config.json" if env.get("DOCKER_CONFIG") else home / ".docker" / "config.json"
    )
    return files


def find_login(host: str, repository: str, *, warn: Callable[[str], None]) -> Login | None:
    """The login for ``host`` (``name[:port]``) and ``repository`` on it, or None to go anonymous."""
    for path in auth_files():
        document = _read(path, warn)
        if document is None:
            continue
        login = _from_document(document, host, repository, path, warn)
        if login is not None:
            return login
    return None


def _read(path: Path, warn: Callable[[str], None]) -> dict[str, object] | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        warn(f"cannot read the registry credentials in {path}: {exc.strerror or exc}; continuing without them")
        return None
    try:
        if len(data) > _MAX_FILE:
            raise ValueError
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        warn(f"{path} is not a valid credentials file (JSON object); its logins are ignored")
        return None
    return document if isinstance(document, dict) else None


def _keys(host: str, repository: str) -> Iterator[str]:
    """The keys a file may use for ``repository`` on ``host``, most specific first."""
    parts = repository.split("/")
    for n in range(len(parts), 0, -1):
        yield f"{host}/{'/'.join(parts[:n])}"
    yield host


def _normalise(key: str) -> str:
    """``https://host:5000/v1/`` → ``host:5000``; ``host/ns`` stays a namespace key."""
    text = key.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
        text = text.split("/", 1)[0]  # a URL key names a whole host (Docker writes https://index.docker.io/v1/)
    return text.rstrip("/")


def _from_document(
    document: dict[str, object], host: str, repository: str, path: Path, warn: Callable[[str], None]
) -> Login | None:
    helpers = document.get("credHelpers")
    if isinstance(helpers, dict):
        named = {_normalise(str(k)): v for k, v in helpers.items()}
        helper = named.get(host.lower())
        if isinstance(helper, str) and helper:
            return _ask_helper(helper, host, path, warn)
    auths = document.get("auths")
    entries = {_normalise(str(k)): v for k, v in auths.items()} if isinstance(auths, dict) else {}
    for key in _keys(host.lower(), repository):
        entry = entries.get(key)
        if isinstance(entry, dict):
            login = _decode(entry, key, path, warn)
            if login is not None:
                return login
    store = document.get("credsStore")
    if isinstance(store, str) and store:
        return _ask_helper(store, host, path, warn)
    return None


def _decode(entry: dict[str, object], key: str, path: Path, warn: Callable[[str], None]) -> Login | None:
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, sep, password = base64.b64decode(auth, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if sep and user:
            return Login(user, password, f"{path} ({key})")
        warn(f"{path}: the login for {key} is not base64 user:password; it is ignored")
        return None
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name:
        return Login(name, secret, f"{path} ({key})")
    return None


def _ask_helper(name: str, host: str, path: Path, warn: Callable[[str], None]) -> Login | None:
    program = shutil.which(f"docker-credential-{name}")
    if program is None:
        warn(f"{path} names the credential helper docker-credential-{name}, which is not installed")
        return None
    try:
        done = subprocess.run(
            [program, "get"], input=host, capture_output=True, text=True, timeout=_HELPER_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        warn(f"docker-credential-{name} did not answer for {host}; continuing without a login")
        return None
    if done.returncode != 0:
        return None  # helpers exit non-zero for "no credentials for this host"
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("Secret"), str):
        warn(f"docker-credential-{name} answered something other than its JSON for {host}; it is ignored")
        return None
    user = answer.get("Username")
    if not isinstance(user, str) or not user or user == "<token>":
        warn(f"docker-credential-{name} holds an identity token for {host}, which kmenv cannot use yet")
        return None
    return Login(user, str(answer["Secret"]), f"docker-credential-{name}")
