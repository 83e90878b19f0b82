"""Put a store blob into an environment: reflink, hard link or copy (``--link-mode``, ``KMENV_LINK_MODE``).

The mode names and their validation are the setting's (:data:`kmenv.config.LINK_MODES`); this module
carries them out.

``auto`` tries reflink (copy-on-write, independent inode, no extra space), then hard link
(shared inode; safe because blobs are read-only), then copy, and remembers for the rest of the
run which modes the filesystem refused, so a failing mode costs one attempt rather than one per file.

A blob the store keeps outside itself (a verified file of a notebook's read-only mount, a symlink in the store;
see :mod:`kmenv.store.external`) is linked by a symlink to that file in every mode but ``copy``: the mount is
another filesystem, so a reflink or hard link cannot be made, and a copy is what adopting it avoids.
:func:`file_stat` is how checks of an environment see such a file: as the file it points to.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from kmenv.config import resolve_link_mode
from kmenv.errors import UsageError
from kmenv.fs.failures import is_storage_error, storage_error

__all__ = ["Linker", "file_stat", "link_file"]

_FICLONE = 0x40049409  # Linux ioctl: make dst share src's extents (btrfs, xfs, bcachefs, ...)

# Errors that mean "this filesystem (pair) cannot do that", as opposed to real I/O trouble.
_UNSUPPORTED = frozenset(
    {errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.EMLINK}
)


def _read_only_like(src_fd: int, dst_fd: int) -> None:
    os.fchmod(dst_fd, stat.S_IMODE(os.fstat(src_fd).st_mode))


def _reflink(src: Path, dst: Path) -> None:
    if not sys.platform.startswith("linux"):
        raise OSError(errno.EOPNOTSUPP, "reflinks are implemented for Linux only")
    with open(src, "rb") as source:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.ioctl(fd, _FICLONE, source.fileno())
            _read_only_like(source.fileno(), fd)
        except BaseException:
            os.close(fd)
            os.unlink(dst)
            raise
        os.close(fd)


def _hardlink(src: Path, dst: Path) -> None:
    os.link(src, dst)


def _copy(src: Path, dst: Path) -> None:
    with open(src, "rb") as source:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=False) as target:
                shutil.copyfileobj(source, target, 1 << 20)
            _read_only_like(source.fileno(), fd)  # keep the blob's read-only mode
        except BaseException:
            os.close(fd)
            os.unlink(dst)
            raise
        os.close(fd)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


_METHODS: dict[str, Callable[[Path, Path], None]] = {"reflink": _reflink, "hardlink": _hardlink, "copy": _copy}


class Linker:
    """Links files in one mode for one run; in ``auto`` it remembers which modes already failed.

    ``used`` records the modes that actually made files, for a summary line.
    """

    def __init__(self, mode: str = "auto") -> None:
        self.mode = resolve_link_mode(mode)
        self._chain = ["reflink", "hardlink", "copy"] if self.mode == "auto" else [self.mode]
        self.used: set[str] = set()

    def link(self, src: Path, dst: Path) -> str:
        """Make ``dst`` (which must not exist) hold ``src``'s bytes; the mode that did it.

        An explicit mode the filesystem refuses is a :class:`UsageError`; a full, read-only or
        forbidden disk a :class:`~kmenv.errors.StorageError` naming ``dst``; other ``OSError`` s
        (a missing source) propagate.
        """
        if self.mode != "copy" and src.is_symlink():  # a verified file kept outside the store: point at it
            try:
                os.symlink(os.readlink(src), dst)
            except OSError as exc:
                if is_storage_error(exc):
                    raise storage_error(exc, dst) from exc
                raise
            self.used.add("symlink")
            return "symlink"
        while True:
            mode = self._chain[0]
            try:
                _METHODS[mode](src, dst)
            except OSError as exc:
                if mode == "copy" or exc.errno not in _UNSUPPORTED:
                    if is_storage_error(exc):
                        raise storage_error(exc, dst, needed=_size(src)) from exc
                    raise  # real I/O trouble, not a missing filesystem feature
                if len(self._chain) == 1:
                    raise UsageError(
                        f"cannot {mode} {src} to {dst}: {exc.strerror}",
                        hint="use --link-mode auto (or copy); hard links and reflinks need the store "
                        "and the environment on one filesystem that supports them",
                    ) from None
                self._chain.pop(0)  # this filesystem cannot: don't try again for the next file
                continue
            self.used.add(mode)
            return mode


def file_stat(path: Path) -> os.stat_result | None:
    """How an environment's file looks to a check: a symlink to a regular file counts as that file.

    None for a symlink that points nowhere (the mount it named is gone); anything else as ``lstat`` sees it.
    """
    info = path.lstat()
    if not stat.S_ISLNK(info.st_mode):
        return info
    try:
        target = path.stat()
    except OSError:
        return None
    return target if stat.S_ISREG(target.st_mode) else info


def link_file(src: Path, dst: Path, mode: str = "auto") -> str:
    """Link one file (see :class:`Linker`; use one Linker for many files so fallbacks are remembered)."""
    return Linker(mode).link(src, dst)
