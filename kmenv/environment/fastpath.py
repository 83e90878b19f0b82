"""The no-op fast path: decide that ``kmenv install`` has nothing to do without importing anything heavy.

A full install costs imports of pydantic, ruamel.yaml, rich and requests (hundreds of
milliseconds). Most runs have nothing to do, so the installer records in ``.kmenv/state.json``
(see :class:`~kmenv.environment.layout.InstallState`) the digests of the exact ``kmodels.yaml``
and ``kmodels.lock`` bytes it installed, and the groups of the lock it installed; when both digests still match,
the generation holds just what a plain ``kmenv install`` takes (``models:``, no ``--group``), and the environment
still points at that generation, we are done. (Group flags never reach this check: the command line leaves them to
the full path.)

Standard library only, and only what starting Python has loaded already plus ``json`` and a sha256:
paths are strings, the rules come from :mod:`kmenv.environment._state_file`. The command line asks this
before it builds its parser.

When the answer is no, the bytes read to decide it are handed on (``seen``), so the full path
that follows reads each project file only once.
"""

from __future__ import annotations

import os

from kmenv.environment._state_file import (
    DEFAULT_GROUPS,
    ENV_DIRNAME,
    LOCK_FILENAME,
    SPEC_FILENAME,
    STATE_FORMAT,
    locate_project,
    read_state,
)
from kmenv.fs.bounded import read_capped
from kmenv.lockfile.limits import MAX_LOCK_BYTES
from kmenv.spec.limits import MAX_SPEC_BYTES

__all__ = ["digest_file", "locate_project", "sha256_hex", "up_to_date"]


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` in hex, as :func:`hashlib.sha256` gives it.

    CPython's built-in implementation (``_sha2`` from 3.12, ``_sha256`` before) when there is one: importing
    :mod:`hashlib` loads OpenSSL, which costs a quarter of an interpreter's start; project files are small.
    """
    for name in ("_sha2", "_sha256"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        digest: str = module.sha256(data).hexdigest()
        return digest
    import hashlib

    return hashlib.sha256(data).hexdigest()


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

    Any doubt (unreadable state, a detected environment, a missing generation) answers None,
    which sends the caller down the full, checking path. ``seen`` receives the bytes of each
    project file read on the way (path → bytes, None when absent).
    """
    root = os.fspath(project_dir)
    env = os.path.join(root, ENV_DIRNAME)
    state = read_state(env)
    if state is None or state["format"] != STATE_FORMAT or not state["fast_path"]:
        return None
    if state["groups"] != DEFAULT_GROUPS:
        return None  # built with --group/--only-group: a plain install changes it
    generation = state["generation"]
    if generation is None:
        return None
    try:
        if os.readlink(os.path.join(env, "models")) != f"generations/{generation}":
            return None
    except OSError:
        return None
    if not os.path.isdir(os.path.join(env, "generations", str(generation))):
        return None
    if state["spec_sha256"] != digest_file(os.path.join(root, SPEC_FILENAME), seen, limit=MAX_SPEC_BYTES):
        return None
    if state["lock_sha256"] != digest_file(os.path.join(root, LOCK_FILENAME), seen, limit=MAX_LOCK_BYTES):
        return None
    return generation
