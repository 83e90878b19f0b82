"""Free-space checks that fail early, naming the place and the numbers, before a download or install."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from kmenv.errors import StorageError

__all__ = ["check_free_space", "check_install_space"]


def check_free_space(path: Path, needed_bytes: int, *, hint: str | None = None) -> None:
    """Raise :class:`~kmenv.errors.StorageError` when the filesystem holding ``path`` has less than
    ``needed_bytes`` free: the same error (exit 7) as a write the full disk refuses, only earlier.
    """
    free = shutil.disk_usage(_existing(path)).free
    if free < needed_bytes:
        from kmenv.values.candidates import format_size  # with difflib: only for the message

        raise StorageError(
            f"needs {format_size(needed_bytes)} at {path}, {format_size(free)} free",
            path=str(path),
            errno=errno.ENOSPC,
            needed=needed_bytes,
            hint=hint
            or "free some disk space (`kmenv gc` helps), or point KMENV_CACHE_DIR (--cache-dir) at a larger disk",
        )


def _existing(path: Path) -> Path:
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_install_space(cache: Path, environment: Path, *, missing: int, linked: int, link_mode: str) -> None:
    """Fail early (:class:`~kmenv.errors.StorageError`, exit 7) unless both filesystems can take an install.

    The cache needs ``missing`` bytes (blobs not yet in the store). The environment needs
    ``linked`` bytes (the whole new generation) only when its files will be copies: with
    ``--link-mode copy``, or when it is on another filesystem than the cache (no hard link or
    reflink can cross filesystems). On one filesystem both needs add up.
    """
    cache_probe, env_probe = _existing(cache), _existing(environment)
    copies = link_mode == "copy" or cache_probe.stat().st_dev != env_probe.stat().st_dev
    env_need = linked if copies else 0
    if cache_probe.stat().st_dev == env_probe.stat().st_dev:
        check_free_space(cache, missing + env_need)
    else:
        check_free_space(cache, missing)
        check_free_space(
            environment,
            env_need,
            hint="free some disk space there, or keep the cache (KMENV_CACHE_DIR) on the same filesystem "
            "as the project so that files are hard-linked instead of copied",
        )
