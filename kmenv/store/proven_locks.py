"""Lock texts this kmenv's full lock parser has accepted, and those it found fresh beside a ``kmodels.yaml``.

Checking a ``kmodels.lock`` against its schema and for consistency takes the lock model's imports (pydantic),
which cost several times what the rest of an install from a filled store does; checking that it is fresh takes
the declaration's parser as well. Whether a text passes depends only on its bytes and on the kmenv version
reading them, and whether a lock is fresh only on the bytes of both files (for a declaration that detects
nothing from the machine: the rule the no-op install trusts). So the installer records each lock text it parsed
successfully as ``verified/locks/<lock sha256>``, and each pair it found fresh as
``verified/locks/<lock sha256>+<kmodels.yaml sha256>`` (each holding the version), and the warm install
(:mod:`kmenv.actions.install_warm`) skips a parser only when the record is here for this very version. A
missing, unreadable or other-version record only means: check it the full way.

The record lives beside the blob seals (``verified/``), which ``kmenv cache clean`` empties with them.
Standard library only.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from kmenv._version import __version__
from kmenv.fs.atomic import write_atomic
from kmenv.store.folders import folders_held

__all__ = ["is_fresh", "is_proven", "prove_fresh", "prove_lock"]

_FOLDER = ("verified", "locks")


def _record(root: str | os.PathLike[str], name: str) -> Path:
    return Path(root, *_FOLDER, name)


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _prove(root: Path, name: str) -> None:
    if _proven(root, name):
        return
    with contextlib.suppress(OSError), folders_held(Path(root), exclusive=False):  # gc sweeps empty folders
        Path(root, *_FOLDER).mkdir(parents=True, exist_ok=True)
        write_atomic(_record(root, name), __version__ + "\n", durable=False)  # lost, it is only checked again


def _proven(root: str | os.PathLike[str], name: str) -> bool:
    try:
        with open(_record(root, name), "rb") as record:
            return record.read(64).strip() == __version__.encode()
    except (OSError, ValueError):  # absent, a folder, unreadable, a NUL in the name: not proven
        return False


def prove_lock(root: Path, lock_sha256: str) -> None:
    """Record that the lock text with this digest passed the full parser of this version (best effort)."""
    if _is_digest(lock_sha256):
        _prove(root, lock_sha256)


def is_proven(root: str | os.PathLike[str], lock_sha256: str) -> bool:
    """True when this version's full parser accepted the lock text with this digest before."""
    return _is_digest(lock_sha256) and _proven(root, lock_sha256)


def prove_fresh(root: Path, lock_sha256: str, spec_sha256: str) -> None:
    """Record that the lock with this digest parsed and was fresh beside this ``kmodels.yaml`` (best effort)."""
    if _is_digest(lock_sha256) and _is_digest(spec_sha256):
        _prove(root, lock_sha256)
        _prove(root, f"{lock_sha256}+{spec_sha256}")


def is_fresh(root: str | os.PathLike[str], lock_sha256: str, spec_sha256: str) -> bool:
    """True when this version found the lock with this digest fresh beside this ``kmodels.yaml`` before."""
    return _is_digest(lock_sha256) and _is_digest(spec_sha256) and _proven(root, f"{lock_sha256}+{spec_sha256}")
