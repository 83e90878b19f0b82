"""The no-op fast path: decide that ``kmenv install`` has nothing to do without importing anything heavy.

A full install costs imports of pydantic, ruamel.yaml, rich and requests (hundreds of
milliseconds). Most runs have nothing to do, so the installer records in ``.kmenv/state.json``
(see :class:`~kmenv.environment.layout.InstallState`) the digests of the exact ``kmodels.yaml``
and ``kmodels.lock`` bytes it installed; when both still match and the environment still points
at that generation, we are done. Standard library only.

When the answer is no, the bytes read to decide it are handed on (``seen``), so the full path
that follows reads each project file only once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from kmenv.environment.layout import (
    ENV_DIRNAME,
    LOCK_FILENAME,
    SPEC_FILENAME,
    STATE_FORMAT,
    InstallState,
    read_install_state,
)
from kmenv.spec.limits import MAX_SPEC_BYTES

__all__ = ["digest_file", "up_to_date"]


def digest_file(path: Path, seen: dict[Path, bytes | None] | None = None, *, limit: int | None = None) -> str | None:
    """sha256 of a file's bytes, or None when it does not exist; the bytes (None: absent) go into ``seen``.

    A file past ``limit`` bytes (read no further) matches no digest and is left out of ``seen``, for the full path
    to read and refuse.
    """
    try:
        with path.open("rb") as file:
            data: bytes | None = file.read() if limit is None else file.read(limit + 1)
    except FileNotFoundError:
        data = None
    if limit is not None and data is not None and len(data) > limit:
        return ""
    if seen is not None:
        seen[path] = data
    return None if data is None else hashlib.sha256(data).hexdigest()


def up_to_date(project_dir: Path, *, seen: dict[Path, bytes | None] | None = None) -> InstallState | None:
    """The recorded state when the environment already matches the project's files, else None.

    Any doubt (unreadable state, a detected environment, a missing generation) answers None,
    which sends the caller down the full, checking path. ``seen`` receives the bytes of each
    project file read on the way (path → bytes, None when absent).
    """
    env = project_dir / ENV_DIRNAME
    state = read_install_state(env)
    if state is None or state.format != STATE_FORMAT or not state.fast_path:
        return None
    generation = state.generation
    if generation is None:
        return None
    try:
        if os.readlink(env / "models") != f"generations/{generation}":
            return None
    except OSError:
        return None
    if not (env / "generations" / str(generation)).is_dir():
        return None
    if state.spec_sha256 != digest_file(project_dir / SPEC_FILENAME, seen, limit=MAX_SPEC_BYTES):
        return None
    if state.lock_sha256 != digest_file(project_dir / LOCK_FILENAME, seen):
        return None
    return state
