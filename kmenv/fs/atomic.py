"""Replace a file atomically: a private temp file beside it, written, optionally flushed to disk, then renamed.

The one rule for every small file kmenv writes (kmodels.yaml, kmodels.lock, ``state.json``, cache
entries, GC roots, registry documents): readers see the old file or the new one, never a mix, and an
interrupted write leaves no temp file behind. A disk that refuses the write (full, read-only, not
permitted) raises :class:`~kmenv.errors.StorageError` naming the file and the bytes wanted, with the old
file untouched. Standard library only: the no-op fast path may use it.
"""

from __future__ import annotations

import os
from pathlib import Path

from kmenv.fs.failures import refused_writes

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8 with ``\\n`` line ends).

    ``durable`` fsyncs the bytes before the rename, for files whose loss after a power cut would
    matter (the lock, the spec, the environment's state); caches that can be rebuilt skip it.
    ``mode`` is applied before the rename, so the file never exists with looser permissions.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    with refused_writes(path, needed=len(payload)):
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            os.chmod(temp, mode)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
