"""Copies of Kaggle model files this machine already has, so ``install`` need not download them again.

kagglehub keeps a version under ``${KAGGLEHUB_CACHE:-~/.cache/kagglehub}/models/<owner>/<model>/<framework>/
<variation>/<version>/`` and marks it finished with ``<variation>/<version>.complete`` (the whole version) or
``<variation>/.complete/<version>/<path>.complete`` (one file it was asked for); only a marked file counts. Inside a
Kaggle notebook (``KAGGLE_KERNEL_RUN_TYPE`` set), models attached to it are mounted read-only at
``${KAGGLE_CACHE_MOUNT_FOLDER:-/kaggle/input}/<model>/<framework>/<variation>/<version>/`` and count too. Either way
the size must be the listed one, and the caller still checks the sha256 against the lock before the store takes
the file, so a stale or tampered copy is refused, never installed.

kagglehub's cache is kagglehub's to rewrite or delete, so its files are copied into the store. A mount stays
for the notebook's life and kagglehub itself hands out the mounted path, so a mounted file is ``mounted``: the
store verifies it and references it where it is (:mod:`kmenv.store.external`), copying no byte.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from kmenv.values.handles import Handle

__all__ = ["LocalCopy", "kagglehub_cache", "local_copy"]


class LocalCopy(NamedTuple):
    """A finished copy of one file on this machine; ``mounted``: a notebook's read-only mount (use it in place)."""

    path: Path
    mounted: bool


def kagglehub_cache() -> Path:
    """kagglehub's cache folder, found the way kagglehub finds it."""
    configured = os.environ.get("KAGGLEHUB_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "kagglehub"


def local_copy(handle: Handle, path: str, size: int) -> LocalCopy | None:
    """The finished copy of file ``path`` (``size`` bytes) of the versioned ``handle``; None when there is none."""
    relative = PurePosixPath(path)
    if handle.version is None or handle.is_partial or relative.is_absolute() or ".." in relative.parts:
        return None
    variation = kagglehub_cache().joinpath(
        "models", handle.owner, handle.model, str(handle.framework), str(handle.variation)
    )
    version = str(handle.version)
    marked = (variation / f"{version}.complete").is_file() or variation.joinpath(
        ".complete", version, *relative.parent.parts, f"{relative.name}.complete"
    ).is_file()
    if marked and _sized(found := variation.joinpath(version, *relative.parts), size):
        return LocalCopy(found, mounted=False)
    if os.environ.get("KAGGLE_KERNEL_RUN_TYPE"):  # a Kaggle notebook: attached models are mounted, read-only
        mount = Path(os.environ.get("KAGGLE_CACHE_MOUNT_FOLDER") or "/kaggle/input")
        attached = mount.joinpath(handle.model, str(handle.framework), str(handle.variation), version, *relative.parts)
        if _sized(attached, size):
            return LocalCopy(attached, mounted=True)
    return None


def _sized(path: Path, size: int) -> bool:
    try:
        return path.is_file() and path.stat().st_size == size
    except OSError:
        return False
