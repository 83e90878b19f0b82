"""Reading a small file kmenv did not write itself: a regular file only, and never more than a cap.

A lock, a registry document or a cache entry can be replaced by a folder, a FIFO (which blocks ``open`` until a
writer comes), or a symlink to ``/dev/zero`` (endless). :func:`read_capped` opens without blocking, checks what
it opened, and reads at most one byte past the cap, so each of those is a one-line refusal rather than a hang or
a ``MemoryError``. Standard library only (``os``, ``stat``): the no-op install's fast path reads ``state.json``
with it.
"""

from __future__ import annotations

import os
import stat

__all__ = ["NotAFileError", "TooLargeError", "read_capped"]


class NotAFileError(OSError):
    """The path names a folder, FIFO, socket or device: ``kind`` says which."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a file")
        self.path, self.kind = path, kind


class TooLargeError(OSError):
    """The file holds more than ``limit`` bytes; ``head`` is the ``limit + 1`` read, to say where it crosses."""

    def __init__(self, path: str, limit: int, head: bytes) -> None:
        super().__init__(f"{path} is larger than {limit:,} bytes")
        self.path, self.limit, self.head = path, limit, head


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_capped(path: str | os.PathLike[str], limit: int) -> bytes | None:
    """The bytes of the regular file at ``path`` (symlinks followed); None when nothing is there.

    Raises :class:`NotAFileError` for anything but a regular file, :class:`TooLargeError` past ``limit`` bytes,
    and ``OSError`` for the rest (permissions, a name too long); ``NotADirectoryError`` (a file where a folder
    was expected on the way) counts as absent.
    """
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise NotAFileError(name, "a folder") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFileError(name, _kind(mode))
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if left <= 0:
        raise TooLargeError(name, limit, data)
    return data
