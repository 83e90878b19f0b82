"""The no-op fast path: decide that ``kmenv install`` has nothing to do without importing anything heavy.

A full install costs imports of pydantic, ruamel.yaml, rich and requests (hundreds of
milliseconds). Most runs have nothing to do, so the installer records in ``.kmenv/state.json``
(see :class:`~kmenv.environment.layout.InstallState`) the digests of the exact ``kmodels.yaml``
and ``kmodels.lock`` bytes it installed, and the groups of the lock it installed; when both digests still match,
the generation holds just what a plain ``kmenv install`` takes (``models:``, no ``--group``), and the environment
still points at that generation, we are done. (Group flags never reach this check: the command line leaves them to
the full path.)

Standard library only, and only what starting Python has loaded already plus a sha256 (not even :mod:`json`:
the state is compared, not parsed): paths are strings, the rules come from :mod:`kmenv.environment._state_file`.
The command line asks this before it builds its parser.

When the answer is no, the bytes read to decide it are handed on (``seen``), so the full path
that follows reads each project file only once.
"""

from __future__ import annotations

import os

from kmenv.environment._state_file import (
    ENV_DIRNAME,
    LOCK_FILENAME,
    MAX_STATE_BYTES,
    SPEC_FILENAME,
    STATE_FILENAME,
    locate_project,
    plain_state_text,
)
from kmenv.fs.bounded import read_capped
from kmenv.lockfile.limits import MAX_LOCK_BYTES
from kmenv.spec.limits import MAX_SPEC_BYTES
from kmenv.values.sha256 import sha256_hex

__all__ = ["digest_file", "locate_project", "up_to_date"]


def digest_file(path: str, seen: dict[str, bytes | None] | None = None, *, limit: int) -> str | None:
    """sha256 of a file's bytes, or None when it does not exist; the bytes (None: absent) go into ``seen``.

    A file past ``limit`` bytes (read no further), or anything but a regular file, matches no digest and is left
    out of ``seen``, for the full path to read and refuse.
    """
    try:
        data = read_capped(path, limit)
    except OSError:  # a folder, a FIFO, a device, past the cap, unreadable: the full path says which
        return ""
    if seen is not None:
        seen[path] = data
    return None if data is None else sha256_hex(data)


def up_to_date(project_dir: str | os.PathLike[str], *, seen: dict[str, bytes | None] | None = None) -> int | None:
    """The installed generation when the environment already matches the project's files, else None.

    The environment must point at an existing generation N, and ``state.json`` must hold exactly what a plain
    install of these ``kmodels.yaml`` and ``kmodels.lock`` bytes into N writes. Any doubt (another state, a
    rollback, a detected environment, a missing generation) answers None, which sends the caller down the full,
    checking path. ``seen`` receives the bytes of each project file read on the way (path → bytes, None when absent).
    """
    root = os.fspath(project_dir)
    env = os.path.join(root, ENV_DIRNAME)
    try:
        state = read_capped(os.path.join(env, STATE_FILENAME), MAX_STATE_BYTES)
        target = os.readlink(os.path.join(env, "models"))
    except OSError:  # no environment yet, or a folder, a FIFO, /dev/zero where state.json belongs
        return None
    folder, _, number = target.partition("/")
    if state is None or folder != "generations" or not (number.isascii() and number.isdigit()):
        return None
    generation = int(number)
    if number != str(generation) or not os.path.isdir(os.path.join(env, target)):
        return None
    spec = digest_file(os.path.join(root, SPEC_FILENAME), seen, limit=MAX_SPEC_BYTES)
    lock = digest_file(os.path.join(root, LOCK_FILENAME), seen, limit=MAX_LOCK_BYTES)
    if not spec or not lock or state != plain_state_text(generation, spec, lock).encode():
        return None
    return generation
