"""Calls about the caller rather than models: who Kaggle takes the credentials for, and renewing OAuth tokens.

``hello`` is ``api.v1.DiagnosticsService/Hello``, the check kagglehub's ``whoami()`` and ``login()``
make (``{"userName": ...}``, or a ``401``). ``renew_access_token`` is
``users.AccountService/GenerateAccessToken`` with the refresh token of ``kaggle auth login``, sent
without credentials, as the kaggle CLI renews an expired login. Neither answer is cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

from kmenv.errors import NetworkError, RegistryError, UsageError
from kmenv.registry.kaggle.auth import CREDENTIALS_HINT, Credentials
from kmenv.registry.kaggle.oauth import LOGIN_COMMAND, OAUTH_FILE

__all__ = ["ACCOUNTS", "DIAGNOSTICS", "hello", "renew_access_token"]

DIAGNOSTICS = "api.v1.DiagnosticsService"
ACCOUNTS = "users.AccountService"


class KaggleClient(Protocol):
    """What these calls need of :class:`~kmenv.registry.kaggle.client.KaggleClient` (a protocol: no import cycle)."""

    @property
    def credentials(self) -> Credentials | None: ...

    @property
    def offline(self) -> bool: ...

    def rpc(self, service: str, method: str, body: Mapping[str, object], *, what: str, signed: bool = True) -> Any: ...


def hello(client: KaggleClient) -> str:
    """The username Kaggle takes ``client``'s credentials for; anonymous or refused credentials raise."""
    if client.credentials is None:
        raise UsageError("no Kaggle credentials found", hint=CREDENTIALS_HINT)
    if client.offline:
        raise RegistryError("offline: asking Kaggle who you are needs the network", hint="run without --offline")
    data = client.rpc(DIAGNOSTICS, "Hello", {}, what="who you are")
    name = data.get("userName") if isinstance(data, dict) else None
    if not name:
        raise RegistryError(
            "Kaggle's answer to Hello names no user",
            hint="check the API url (KMENV_KAGGLE_URL / registries.<name>.url); it must end in /v1",
        )
    return str(name)


def renew_access_token(client: KaggleClient, refresh_token: str, lifetime: timedelta) -> tuple[str, float]:
    """A new access token and the seconds it lives, for ``refresh_token``; a refusal says how to sign in again."""
    body = {
        "refreshToken": refresh_token,
        "apiVersion": "API_VERSION_V1",
        "expirationDuration": f"{int(lifetime.total_seconds())}s",
    }
    what = "a renewed access token for the login of `kaggle auth login`"
    try:
        data = client.rpc(ACCOUNTS, "GenerateAccessToken", body, what=what, signed=False)
    except NetworkError:
        raise
    except RegistryError as exc:
        raise RegistryError(
            f"Kaggle refused to renew the expired access token of ~/{OAUTH_FILE} ({exc.message})",
            hint=f"sign in again with `{LOGIN_COMMAND}`, or use `kmenv login` / KAGGLE_API_TOKEN instead",
        ) from None
    token = data.get("token") if isinstance(data, dict) else None
    if not token:
        raise RegistryError(
            f"Kaggle's answer to GenerateAccessToken carries no token (renewing ~/{OAUTH_FILE})",
            hint=f"sign in again with `{LOGIN_COMMAND}`",
        )
    seconds = data.get("expiresIn")
    return str(token), float(seconds) if isinstance(seconds, (int, float)) else lifetime.total_seconds()
