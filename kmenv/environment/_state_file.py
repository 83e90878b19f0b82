"""The rules under :mod:`kmenv.environment.layout` that the no-op ``kmenv install`` needs before anything else loads.

The names of a project's files, the rule that finds the project folder, and ``state.json``'s schema (its keys,
their types, how an ill-typed field reads) live here, once; ``layout`` builds its ``Path``-based API,
:class:`~kmenv.environment.layout.InstallState` and the ``ProjectNotFoundError`` on top of them.

Plain strings and :mod:`os.path` only: no ``pathlib``, ``dataclasses``, ``typing`` or ``kmenv.errors`` at run
time, so that ``kmenv install`` with nothing to do costs little more than starting Python. Nor :mod:`json`
(which loads :mod:`re`, and with it ``enum`` and ``functools``: two thirds of an interpreter's start): the no-op
renders the bytes a plain install's ``state.json`` must hold (:func:`plain_state_text`) and compares them with the
file, so it never parses it.
"""

from __future__ import annotations

import os

from kmenv.fs.bounded import read_capped

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which costs more than the rest of the check
if TYPE_CHECKING:
    from typing import TypedDict

    class StateFields(TypedDict):
        """The decoded fields of ``state.json`` (see :class:`~kmenv.environment.layout.InstallState`)."""

        generation: int | None
        lock_sha256: str | None
        spec_sha256: str | None
        fast_path: bool
        rolled_back_from: int | None
        format: int | None
        groups: tuple[str, ...]


__all__ = [
    "DEFAULT_GROUPS",
    "ENV_DIRNAME",
    "LOCK_FILENAME",
    "MAX_STATE_BYTES",
    "SPEC_FILENAME",
    "STATE_FILENAME",
    "STATE_FORMAT",
    "decode_state",
    "encode_state",
    "locate_project",
    "plain_state_text",
    "read_state",
    "state_text",
]

SPEC_FILENAME = "kmodels.yaml"
LOCK_FILENAME = "kmodels.lock"
ENV_DIRNAME = ".kmenv"
STATE_FILENAME = "state.json"
STATE_FORMAT = 1
#: The groups of a plain ``kmenv install``: the models under ``models:`` (the lock calls them ``default``).
DEFAULT_GROUPS = ("default",)

#: The largest ``state.json`` read; the installer writes about 300 bytes.
MAX_STATE_BYTES = 1024 * 1024


def absolute(start: str | os.PathLike[str] | None) -> str:
    """``start`` (default: the working directory) with ``~`` expanded, made absolute without resolving anything."""
    here = os.path.expanduser(os.fspath(start)) if start is not None else os.getcwd()
    return here if os.path.isabs(here) else os.path.join(os.getcwd(), here)


def locate_project(start: str | os.PathLike[str] | None, *, explicit: bool) -> str | None:
    """The folder holding ``kmodels.yaml``: ``start`` itself when ``explicit`` (``-C DIR``), else upward from it.

    None when there is none. Parents are taken lexically, as :attr:`pathlib.PurePath.parents` takes them.
    """
    folder = absolute(start)
    if explicit:
        return folder if os.path.isfile(os.path.join(folder, SPEC_FILENAME)) else None
    while True:
        if os.path.isfile(os.path.join(folder, SPEC_FILENAME)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def decode_state(data: object) -> StateFields | None:
    """The fields a decoded ``state.json`` holds; None when it is no object. Ill-typed fields read as absent."""
    if not isinstance(data, dict):
        return None

    def number(key: str) -> int | None:
        value = data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def digest(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    groups = data.get("groups", list(DEFAULT_GROUPS))
    chosen: tuple[str, ...] = ()  # ill-typed: matches no selection, so nothing trusts it
    if isinstance(groups, list) and all(isinstance(g, str) for g in groups):
        chosen = tuple(groups)
    return {
        "generation": number("generation"),
        "lock_sha256": digest("lock_sha256"),
        "spec_sha256": digest("spec_sha256"),
        "fast_path": bool(data.get("fast_path")),
        "rolled_back_from": number("rolled_back_from"),
        "format": number("format"),
        "groups": chosen,
    }


def encode_state(
    generation: int | None,
    lock_sha256: str | None,
    spec_sha256: str | None,
    fast_path: bool,
    rolled_back_from: int | None,
    groups: tuple[str, ...] = DEFAULT_GROUPS,
) -> dict[str, object]:
    """The object ``state.json`` holds, in this version's format (``rolled_back_from`` only when set).

    ``groups`` are the lock's groups the generation holds (``default`` is ``models:``); a state without the key was
    written before groups existed, when every install held just ``models:``.
    """
    data: dict[str, object] = {
        "format": STATE_FORMAT,
        "generation": generation,
        "lock_sha256": lock_sha256,
        "spec_sha256": spec_sha256,
        "fast_path": fast_path,
        "groups": list(groups),
    }
    if rolled_back_from is not None:
        data["rolled_back_from"] = rolled_back_from
    return data


def state_text(data: dict[str, object]) -> str:
    """What ``state.json`` holds for ``data`` (an :func:`encode_state` object): sorted keys, two-space indents."""
    import json

    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def plain_state_text(generation: int, spec_sha256: str, lock_sha256: str) -> str:
    """:func:`state_text` of the state a plain install leaves (``models:`` only, trusted by the no-op), built by hand.

    Equal to ``state_text(encode_state(generation, lock_sha256, spec_sha256, True, None))`` for any generation and
    hex digests (a test checks it); the no-op compares the file with this instead of importing :mod:`json`.
    """
    groups = "".join(f'\n    "{group}"' for group in DEFAULT_GROUPS)
    return (
        f'{{\n  "fast_path": true,\n  "format": {STATE_FORMAT},\n  "generation": {generation},\n'
        f'  "groups": [{groups}\n  ],\n  "lock_sha256": "{lock_sha256}",\n  "spec_sha256": "{spec_sha256}"\n}}\n'
    )


def read_state(env_dir: str | os.PathLike[str]) -> StateFields | None:
    """The state recorded in ``env_dir`` (a ``.kmenv`` folder); None when absent or unreadable (check everything)."""
    import json

    try:
        raw = read_capped(os.path.join(env_dir, STATE_FILENAME), MAX_STATE_BYTES)
        data = None if raw is None else json.loads(raw)
    except (OSError, ValueError, RecursionError):  # a folder, /dev/zero, damaged or absurdly nested: not a state
        return None
    return decode_state(data)
