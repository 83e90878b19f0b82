"""Start writing a download's pages to disk while it is still arriving, so the fsync before publishing is short.

Blobs are fsynced before they are trusted. Left alone, the kernel holds gigabytes of dirty pages and
that final fsync writes them all at once, after the last byte arrived. Asking for write-back every
few MiB (Linux ``sync_file_range(SYNC_FILE_RANGE_WRITE)``, which queues the writes and returns) spreads
the disk's work over the download. Elsewhere, or when the call is refused, nothing is done.
"""

from __future__ import annotations

import contextlib
import sys
import threading

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the warm install opens a store)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["WriteBack"]

#: Ask for write-back after this many bytes were written to one file.
EVERY = 16 << 20
_SYNC_FILE_RANGE_WRITE = 2
_libc_lock = threading.Lock()
_libc: list[Any] = []


def _sync_file_range() -> Any:
    """libc's ``sync_file_range``, or None where there is none (not Linux, no libc)."""
    with _libc_lock:
        if not _libc:
            function = None
            if sys.platform.startswith("linux"):
                import ctypes  # loaded on the first large write only: most commands never write a blob
                import ctypes.util

                with contextlib.suppress(OSError, AttributeError):
                    function = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).sync_file_range
                    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
                    function.restype = ctypes.c_int
            _libc.append(function)
        return _libc[0]


class WriteBack:
    """Counts bytes written to one descriptor and asks the kernel to start writing them out every :data:`EVERY`.

    Approximate by design when several threads write (a lost increment only delays one request).
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = 0

    def wrote(self, nbytes: int) -> None:
        self._pending += nbytes
        if self._pending < EVERY:
            return
        self._pending = 0
        function = _sync_file_range()
        if function is not None:
            function(self._fd, 0, 0, _SYNC_FILE_RANGE_WRITE)  # the whole file; errors only cost the speed-up
