"""The two naming rules that keep files where they belong: a model's name, and a path inside a model version.

Every layer that accepts either (kmodels.yaml, the lock, registry documents, Kaggle listings, the
environment builder, ``kmenv.path()``) asks these functions, so a name or path is either safe
everywhere or refused everywhere.
"""

from __future__ import annotations

import re

__all__ = ["is_model_name", "is_relative_path", "model_name_problem", "relative_path_problem"]

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def model_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a model (it becomes a folder name), or None when it can."""
    if not _MODEL_NAME.match(name) or name.endswith("."):
        return "a model name is letters, digits, '.', '_' and '-', starting with a letter or digit, not ending in '.'"
    return None


def is_model_name(name: str) -> bool:
    """Whether ``name`` is a valid model name (see :func:`model_name_problem`)."""
    return model_name_problem(name) is None


def relative_path_problem(path: str) -> str | None:
    """Why ``path`` is not a safe ``/``-separated path inside a version's folder, or None when it is.

    Refused: empty, absolute, a backslash or NUL (which mean different things on different systems),
    empty segments (``//``, a trailing ``/``) and ``.``/``..`` segments (which could leave the folder).
    """
    if not path:
        return "the path is empty"
    if "\\" in path:
        return "it contains a backslash; use '/' between folders"
    if "\0" in path:
        return "it contains a NUL byte"
    if path.startswith("/"):
        return "it is absolute; paths are relative to the version's root"
    segments = path.split("/")
    if any(not s for s in segments):
        return "it has an empty segment ('//' or a trailing '/')"
    if any(s in (".", "..") for s in segments):
        return "it contains '.' or '..' segments"
    return None


def is_relative_path(path: str) -> bool:
    """Whether ``path`` stays inside its folder (see :func:`relative_path_problem`)."""
    return relative_path_problem(path) is None
