"""The naming rules that keep files where they belong: a model's name, a path inside a model version, and how
long either may be.

Every layer that accepts either (kmodels.yaml, the lock, registry documents, Kaggle listings, the
environment builder, ``kmenv.path()``) asks these functions, so a name or path is either safe
everywhere or refused everywhere, and refused up front: a name the filesystem cannot hold would otherwise
surface late, as ``OSError: File name too long``, from whichever layer first made the folder.

The lengths are the platform's, counted in bytes of UTF-8 as the kernel counts them: :data:`NAME_MAX` per
component (255 on Linux, macOS and Windows alike), and a path inside a version of at most :data:`MAX_PATH_BYTES`,
half the platform's ``PATH_MAX`` so the folders above it (the environment, the store) still fit.
"""

from __future__ import annotations

import re
import sys

__all__ = [
    "MAX_PATH_BYTES",
    "NAME_MAX",
    "component_problem",
    "is_model_name",
    "is_relative_path",
    "model_name_problem",
    "relative_path_problem",
]

#: The longest file or folder name, in bytes.
NAME_MAX = 255
#: The longest path the platform resolves, in bytes (``PATH_MAX``; macOS's is smaller than Linux's).
_PATH_MAX = 1024 if sys.platform == "darwin" else 4096
#: The longest path inside a model version's folder, in bytes: half of ``PATH_MAX`` leaves room for the folders
#: it lands in.
MAX_PATH_BYTES = _PATH_MAX // 2

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def component_problem(name: str) -> str | None:
    """Why ``name`` is too long to be one file or folder name (more than :data:`NAME_MAX` bytes), or None."""
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > NAME_MAX:
        return f"it is {size:,} bytes long; a file or folder name holds at most {NAME_MAX}"
    return None


def model_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a model (it becomes a folder name), or None when it can."""
    if not _MODEL_NAME.match(name) or name.endswith("."):
        return "a model name is letters, digits, '.', '_' and '-', starting with a letter or digit, not ending in '.'"
    too_long = component_problem(name)
    if too_long is not None:
        return f"a model name becomes a folder name, and {too_long.removeprefix('it ')}"
    return None


def is_model_name(name: str) -> bool:
    """Whether ``name`` is a valid model name (see :func:`model_name_problem`)."""
    return model_name_problem(name) is None


def relative_path_problem(path: str) -> str | None:
    """Why ``path`` is not a safe ``/``-separated path inside a version's folder, or None when it is.

    Refused: empty, absolute, a backslash or NUL (which mean different things on different systems),
    empty segments (``//``, a trailing ``/``), ``.``/``..`` segments (which could leave the folder), a segment
    longer than :data:`NAME_MAX` bytes and a path longer than :data:`MAX_PATH_BYTES`.
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
    size = len(path.encode("utf-8", "surrogatepass"))
    if size > MAX_PATH_BYTES:
        return f"it is {size:,} bytes long; a path inside a model holds at most {MAX_PATH_BYTES:,}"
    longest = max(len(s.encode("utf-8", "surrogatepass")) for s in segments)
    if longest > NAME_MAX:
        return f"it has a segment of {longest:,} bytes; a file or folder name holds at most {NAME_MAX}"
    return None


def is_relative_path(path: str) -> bool:
    """Whether ``path`` stays inside its folder (see :func:`relative_path_problem`)."""
    return relative_path_problem(path) is None
