"""Blobs kept where they already are: a verified file outside the store, referenced by a symlink.

A Kaggle notebook mounts the models attached to it read-only under ``/kaggle/input``, and kagglehub hands out
those paths as they are. Copying such a file into the store would cost its size in disk and time for bytes
that are already on the machine, so the store can *adopt* it instead: the file is hashed once (size and sha256
must be the lock's), then ``blobs/sha256/<aa>/<digest>`` becomes a symlink to it, and the blob's seal
(:mod:`kmenv.store.integrity`) records the *mounted* file's inode, size, mtime and ctime. Everything that reads a
blob follows the link, so the usual checks hold: a file whose bytes or times changed is hashed again before its
next use, and one that no longer matches is taken out (only the link: the mount is never written). A mount that
is gone leaves a dangling link, which reads as an absent blob, so the next install fetches it from its registry.
Environments link such a blob by a symlink to the mounted file itself (:mod:`kmenv.environment.linking`).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from kmenv.errors import IntegrityError
from kmenv.store.folders import folders_held, place
from kmenv.store.integrity import Seal, hash_file, seal_blob

__all__ = ["MOUNT_HINT", "is_external", "link_proven", "prove_file"]

MOUNT_HINT = (
    "the file kmenv would link differs from the lock; detach and attach the model version again, "
    "or delete the model's entry from kmodels.lock and run `kmenv lock`"
)


def is_external(blob: Path) -> bool:
    """True when the blob at ``blob`` is an adopted file outside the store (a symlink; it may dangle)."""
    return blob.is_symlink()


def prove_file(
    source: Path, *, sha256: str | None, size: int, label: str, on_bytes: Callable[[int], None] | None = None
) -> tuple[str, os.stat_result]:
    """Hash ``source`` once: its sha256 (which must be ``sha256`` when given) and the ``stat`` it was proven with.

    The file must hold ``size`` bytes and not change while it is read (inode, size and times are compared before
    and after), so a seal made from the returned ``stat`` describes exactly the bytes that were hashed. A mismatch
    raises :class:`IntegrityError` naming ``label``.
    """
    before = os.stat(source)
    if not stat.S_ISREG(before.st_mode):
        raise IntegrityError(f"{label}: {source} is not a regular file", hint=MOUNT_HINT)
    if before.st_size != size:
        raise IntegrityError(f"{label}: size mismatch: expected {size} bytes, got {before.st_size}", hint=MOUNT_HINT)
    actual = hash_file(source, on_bytes)
    after = os.stat(source)
    if sha256 is not None and actual != sha256:
        raise IntegrityError(f"{label}: sha256 mismatch: expected {sha256}, got {actual}", hint=MOUNT_HINT)
    if Seal.of(after) != Seal.of(before):
        raise IntegrityError(f"{label}: {source} changed while it was being verified", hint="run the command again")
    return actual, after


def link_proven(root: Path, blob: Path, source: Path, sha256: str, proven: os.stat_result) -> None:
    """Make ``blob`` a symlink to ``source`` and seal it as ``proven`` (see :func:`prove_file`); the caller holds
    the blob's lock."""
    temp = root / "tmp" / f"{sha256}.{os.getpid()}.link"
    temp.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    os.symlink(os.path.abspath(source), temp)
    with folders_held(root, exclusive=False):
        place(temp, blob)
    seal_blob(root, sha256, proven)
