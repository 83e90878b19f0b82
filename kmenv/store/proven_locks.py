"""Lock texts this kmenv's full lock parser has accepted, by sha256, so a warm install may skip the parser.

Checking a ``kmodels.lock`` against its schema and for consistency takes the lock model's imports (pydantic),
which cost several times what the rest of an install from a filled store does. Whether a text passes depends
only on its bytes and on the kmenv version reading them, so the installer records each text it parsed
successfully as ``verified/locks/<sha256>`` (holding the version), and the warm install
(:mod:`kmenv.actions.install_warm`) reads a lock without that parser only when its digest is recorded here for
this very version. A missing, unreadable or other-version record only means: parse it the full way.

The record lives beside the blob seals (``verified/``), which ``kmenv cache clean`` empties with them.
Standard library only.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from kmenv._version import __version__
from kmenv.fs.atomic import write_atomic

__all__ = ["is_proven", "prove_lock"]

_FOLDER = ("verified", "locks")


def _record(root: str | os.PathLike[str], sha256: str) -> Path:
    return Path(root, *_FOLDER, sha256)


def prove_lock(root: Path, sha256: str) -> None:
    """Record that the lock text with this digest passed the full parser of this version (best effort)."""
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        return
    if is_proven(root, sha256):
        return
    with contextlib.suppress(OSError):  # a read-only or full cache: the next install parses it again
        Path(root, *_FOLDER).mkdir(parents=True, exist_ok=True)
        write_atomic(_record(root, sha256), __version__ + "\n", durable=False)


def is_proven(root: str | os.PathLike[str], sha256: str) -> bool:
    """True when this version's full parser accepted the lock text with this digest before."""
    try:
        with open(_record(root, sha256), "rb") as record:
            return record.read(64).strip() == __version__.encode()
    except (OSError, ValueError):  # absent, a folder, unreadable, a NUL in the name: not proven
        return False
