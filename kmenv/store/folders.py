"""The store's folder tree under one flock, so gc never sweeps away a folder a writer is about to fill.

Blobs and index entries live in shard folders (``blobs/sha256/<aa>/``, ``index/<algo>/<aa>/``) that a
writer creates on demand, then fills with a rename. gc removes shard folders that are empty. Without a
rule the two race: the writer's ``mkdir`` finds the folder, gc removes it, the rename fails. So a writer
holds ``locks/folders.lock`` shared from ``mkdir`` to rename, and gc holds it exclusively while it sweeps;
writers never wait for each other, only (briefly) for a sweep.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["FOLDERS_LOCK", "folders_held", "place"]

FOLDERS_LOCK = "folders.lock"
_DIR_MODE = 0o755
_PLACE_ATTEMPTS = 3


@contextlib.contextmanager
def folders_held(root: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the store's folder lock: shared for a writer creating and filling folders, exclusive for gc."""
    locks = Path(root) / "locks"
    locks.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(locks / FOLDERS_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def place(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, creating ``target``'s folder; call with :func:`folders_held` shared.

    A few attempts, for a sweep by a kmenv that does not take the lock (an older version, another host
    on a shared cache): the folder is made again when it vanished, as long as ``source`` is still there.
    """
    for attempt in range(1, _PLACE_ATTEMPTS + 1):
        target.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        try:
            os.replace(source, target)
            return
        except FileNotFoundError:
            if attempt == _PLACE_ATTEMPTS or not source.exists():
                raise
