"""The no-op fast path: decide that ``kmenv install`` has nothing to do without importing anything heavy.

A full install costs imports of pydantic, ruamel.yaml, rich and requests (hundreds of
milliseconds). Most runs have nothing to do, so the installer records in ``.kmenv/state.json``
the digests of the exact ``kmodels.yaml`` and ``kmodels.lock`` bytes it installed; when both
still match and the environment still points at that generation, we are done. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from kmenv.environment.layout import ENV_DIRNAME, LOCK_FILENAME, SPEC_FILENAME

__all__ = ["STATE_FILENAME", "digest_file", "up_to_date"]

STATE_FILENAME = "state.json"
STATE_FORMAT = 1


def digest_file(path: Path) -> str | None:
    """sha256 of a file's bytes, or None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def up_to_date(project_dir: Path) -> dict[str, object] | None:
    """The recorded state when the environment already matches the project's files, else None.

    Any doubt (unreadable state, a detected environment, a missing generation) answers None,
    which sends the caller down the full, checking path.
    """
    env = project_dir / ENV_DIRNAME
    try:
        state = json.loads((env / STATE_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or not state.get("fast_path"):
        return None
    generation = state.get("generation")
    if not isinstance(generation, int):
        return None
    try:
        if os.readlink(env / "models") != f"generations/{generation}":
            return None
    except OSError:
        return None
    if not (env / "generations" / str(generation)).is_dir():
        return None
    if state.get("spec_sha256") != digest_file(project_dir / SPEC_FILENAME):
        return None
    if state.get("lock_sha256") != digest_file(project_dir / LOCK_FILENAME):
        return None
    return state
