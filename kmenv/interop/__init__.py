"""Other model clients served from a kmenv project: their calls get the locked, installed files, with no network.

:func:`use_kagglehub` hooks ``kagglehub.model_download`` (see :mod:`kmenv.interop.kagglehub`). The client is
imported only here, when asked for, so kmenv never needs it installed.
"""

from __future__ import annotations

from pathlib import Path

from kmenv.errors import UsageError

__all__ = ["use_kagglehub"]


def use_kagglehub(project: str | Path | None = None) -> None:
    """Make ``kagglehub.model_download`` return the installed copy of every model the project's lock holds.

    ``project`` is the project folder (or one below it); by default ``KMENV_PROJECT``, else the working folder
    upward, looked up on each call. Handles the lock does not hold still go to kagglehub's own resolvers.
    """
    try:
        from kmenv.interop import kagglehub
    except ModuleNotFoundError as exc:
        if exc.name != "kagglehub":
            raise
        raise UsageError(
            "kmenv.use_kagglehub() needs kagglehub, which is not installed",
            hint="install it with `pip install kagglehub`",
        ) from None
    kagglehub.enable(project)
