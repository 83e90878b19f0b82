"""Copies of Kaggle model files this machine already has: kagglehub's cache, so ``install`` need not download them.

kagglehub keeps a version under ``${KAGGLEHUB_CACHE:-~/.cache/kagglehub}/models/<owner>/<model>/<framework>/
<variation>/<version>/`` and marks it finished with ``<variation>/<version>.complete`` (the whole version) or
``<variation>/.complete/<version>/<path>.complete`` (one file it was asked for). Only a marked file whose size is the
listed one counts; the caller still checks its sha256 against the lock before the store takes it, so a stale or
tampered copy is refused, never installed.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from kmenv.values.handles import Handle

__all__ = ["kagglehub_cache", "local_copy"]


def kagglehub_cache() -> Path:
    """kagglehub's cache folder, found the way kagglehub finds it."""
    configured = os.environ.get("KAGGLEHUB_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "kagglehub"


def local_copy(handle: Handle, path: str, size: int) -> Path | None:
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
    candidate = variation.joinpath(version, *relative.parts)
    try:
        return candidate if marked and candidate.is_file() and candidate.stat().st_size == size else None
    except OSError:
        return None
