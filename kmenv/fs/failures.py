"""Writes the disk refuses (full, over quota, read-only, not permitted) turned into one clean error.

Every layer that writes (small files through :mod:`kmenv.fs.atomic`, blobs through the store, links
into an environment) passes its ``OSError`` here, so a full disk reads the same everywhere: the path,
what the disk said, and how many bytes the write wanted. Standard library only at import time: the
no-op fast path writes through :mod:`kmenv.fs.atomic`.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from kmenv.errors import StorageError

__all__ = ["STORAGE_ERRNOS", "is_storage_error", "refused_writes", "storage_error"]

#: The errors that mean "this disk will not take the write", as opposed to a bug or a missing file.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})

_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_HINTS = {
    errno.ENOSPC: "free some disk space (`kmenv gc` frees the cache), or point KMENV_CACHE_DIR (--cache-dir) "
    "at a larger disk; nothing was changed, so run the command again afterwards",
    errno.EDQUOT: "your disk quota is used up: free some space or ask for a larger quota, then run the command again",
    errno.EFBIG: "the file is larger than this filesystem allows; use another disk (KMENV_CACHE_DIR)",
    errno.EROFS: "the filesystem is mounted read-only: remount it read-write, or point KMENV_CACHE_DIR "
    "(--cache-dir) at a writable disk",
}
_DENIED_HINT = "check the folder's owner and permissions, or point KMENV_CACHE_DIR (--cache-dir) elsewhere"


def is_storage_error(exc: BaseException) -> bool:
    """True for an ``OSError`` meaning the disk refused a write (see :data:`STORAGE_ERRNOS`)."""
    return isinstance(exc, OSError) and not isinstance(exc, StorageError) and exc.errno in STORAGE_ERRNOS


def storage_error(exc: OSError, path: Path | str | None = None, *, needed: int | None = None) -> StorageError:
    """A :class:`~kmenv.errors.StorageError` for ``exc``: ``path`` (else the file ``exc`` names), the
    reason, and ``needed`` bytes for a full disk (how much the write wanted)."""
    from kmenv.values.candidates import format_size  # only on failure: keeps the fast path's imports small

    place = str(path) if path is not None else str(exc.filename) if exc.filename else "the disk"
    code = exc.errno if exc.errno is not None else errno.EIO
    reason = exc.strerror or os.strerror(code)
    message = f"cannot write {place}: {reason}"
    if code in _SPACE:
        message += f" (needs {format_size(needed)}, {_free(place)} free)" if needed else f" ({_free(place)} free)"
    return StorageError(message, path=place, errno=code, needed=needed, hint=_HINTS.get(code, _DENIED_HINT))


@contextlib.contextmanager
def refused_writes(path: Path | str | None = None, *, needed: int | None = None) -> Iterator[None]:
    """Turn a refused write inside the block into a :class:`~kmenv.errors.StorageError` (others pass through)."""
    try:
        yield
    except OSError as exc:
        if not is_storage_error(exc):
            raise
        raise storage_error(exc, path, needed=needed) from exc


def _free(place: str) -> str:
    from kmenv.values.candidates import format_size

    probe = Path(place).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        stats = os.statvfs(probe)
    except OSError:
        return "unknown"
    return format_size(stats.f_bavail * stats.f_frsize)
