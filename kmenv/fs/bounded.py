"""Reading a small file kmenv did not write itself: a regular file only, and never more than a cap.

A lock, a registry document or a cache entry can be replaced by a folder, a FIFO (which blocks ``open`` until a
writer comes), or a symlink to ``/dev/zero`` (endless). :func:`read_capped` opens without blocking, checks what
it opened, and reads at most one byte past the cap, so each of those is a one-line refusal rather than a hang or
a ``MemoryError``; :func:`read_json_file` adds the bounded JSON reader of :mod:`kmenv.values.documents`.
Standard library only at import (``os``, ``stat``): the no-op install's fast path reads ``state.json`` with it.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see the fast path)
if TYPE_CHECKING:
    from kmenv.values.documents import JsonBounds

__all__ = ["NotAFileError", "TooLargeError", "read_capped", "read_json_file"]


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


def read_json_file(path: str | os.PathLike[str], bounds: JsonBounds) -> object | None:
    """The JSON value of the file at ``path``, read within ``bounds``; None when nothing is there.

    Everything about the file's content (not a regular file, past the size cap, not UTF-8, not JSON, past a
    bound, a key given twice) raises :class:`~kmenv.values.documents.DocumentRefused` with the place where it
    can; other trouble (permissions) raises its ``OSError``.
    """
    from kmenv.values.documents import DocumentRefused, oversized, parse_json

    try:
        data = read_capped(path, bounds.max_bytes)
    except NotAFileError as exc:
        raise DocumentRefused(f"it is {exc.kind}, not a file", "point kmenv at the file itself") from None
    except TooLargeError:
        raise oversized(bounds) from None
    return None if data is None else parse_json(data, bounds)
