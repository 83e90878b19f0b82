"""The no-op fast path: decide that ``kmenv install`` has nothing to do without importing anything heavy.

A full install costs imports of pydantic, ruamel.yaml, rich and requests (hundreds of
milliseconds). Most runs have nothing to do, so the installer records in ``.kmenv/state.json``
(see :class:`~kmenv.environment.layout.InstallState`) the digests of the exact ``kmodels.yaml``
and ``kmodels.lock`` bytes it installed; when both still match and the environment still points
at that generation, we are done. Standard library only.
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

__all__ = ["digest_file", "up_to_date"]


def digest_file(path: Path) -> str | None:
    """sha256 of a file's bytes, or None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def up_to_date(project_dir: Path) -> InstallState | None:
    """The recorded state when the environment already matches the project's files, else None.

    Any doubt (unreadable state, a detected environment, a missing generation) answers None,
    which sends the caller down the full, checking path.
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
    if state.spec_sha256 != digest_file(project_dir / SPEC_FILENAME):
        return None
    if state.lock_sha256 != digest_file(project_dir / LOCK_FILENAME):
        return None
    return state
