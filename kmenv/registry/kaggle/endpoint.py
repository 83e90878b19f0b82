"""Which Kaggle API a run talks to: the registry's ``url:``, ``KMENV_KAGGLE_URL`` or kagglesdk's environments."""

from __future__ import annotations

from collections.abc import Mapping

from kmenv.errors import UsageError

__all__ = ["DEFAULT_URL", "ENVIRONMENTS", "resolve_base_url"]

DEFAULT_URL = "https://api.kaggle.com/v1"
#: What ``KAGGLE_API_ENVIRONMENT`` selects, as kagglesdk maps it (prod alone has no ``/api`` prefix).
ENVIRONMENTS = {
    "PROD": DEFAULT_URL,
    "LOCALHOST": "http://localhost/api/v1",
    "TEST": "http://localhost:7777/api/v1",
    "STAGING": "https://staging.kaggle.com/api/v1",
    "ADMIN": "https://admin.kaggle.com/api/v1",
    "QA": "https://qa.kaggle.com/api/v1",
}


def resolve_base_url(url: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The API base: the registry's ``url:``, else ``KMENV_KAGGLE_URL``, else ``KAGGLE_API_ENVIRONMENT``, else prod."""
    import os

    env = os.environ if env is None else env
    chosen = url or env.get("KMENV_KAGGLE_URL")
    if chosen:
        if not chosen.lower().startswith(("http://", "https://")):
            raise UsageError(f"Kaggle API url {chosen!r} is not an http(s) URL", hint="e.g. https://api.kaggle.com/v1")
        return chosen.rstrip("/")
    name = (env.get("KAGGLE_API_ENVIRONMENT") or "").strip().upper()
    if not name:
        return DEFAULT_URL
    if name not in ENVIRONMENTS:
        raise UsageError(
            f"unrecognised value in KAGGLE_API_ENVIRONMENT: {name!r}",
            hint=f"use one of {', '.join(ENVIRONMENTS)}, or unset it",
        )
    return ENVIRONMENTS[name]
