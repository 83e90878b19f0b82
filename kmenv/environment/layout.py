"""A project's files and what its ``.kmenv`` folder records: the nearest ``kmodels.yaml`` upward, its lock and
environment, and the ``state.json`` schema the installer writes and the no-op fast path reads.

Standard library only: this runs inside ``kmenv.path()``. The names, the finding rule and the schema's keys sit in
:mod:`kmenv.environment._state_file`, which the no-op ``kmenv install`` reads before even this module loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from kmenv.environment._state_file import (
    DEFAULT_GROUPS,
    ENV_DIRNAME,
    LOCK_FILENAME,
    SPEC_FILENAME,
    STATE_FILENAME,
    STATE_FORMAT,
    decode_state,
    encode_state,
    locate_project,
    read_state,
)
from kmenv.errors import ProjectNotFoundError

__all__ = [
    "ENV_DIRNAME",
    "LOCK_FILENAME",
    "SPEC_FILENAME",
    "STATE_FILENAME",
    "STATE_FORMAT",
    "InstallState",
    "ProjectPaths",
    "find_project_dir",
    "read_install_state",
]


class ProjectPaths:
    """Where a project folder's files are: one definition for everything that holds a ``root``."""

    root: Path

    @property
    def spec_path(self) -> Path:
        return self.root / SPEC_FILENAME

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILENAME

    @property
    def env_path(self) -> Path:
        return self.root / ENV_DIRNAME


def find_project_dir(start: str | Path | None = None, *, explicit: bool = False) -> Path:
    """The folder holding ``kmodels.yaml``: ``start`` itself when ``explicit`` (``-C DIR``), else upward from it."""
    here = Path(start if start is not None else Path.cwd()).expanduser().absolute()
    found = locate_project(here, explicit=explicit)
    if found is not None:
        return Path(found)
    if explicit:
        raise ProjectNotFoundError(
            f"no {SPEC_FILENAME} in {here}",
            hint=f"create one with `kmenv -C {here} init`, or point -C at a project folder",
        )
    raise ProjectNotFoundError(
        f"no {SPEC_FILENAME} in {here} or any folder above it",
        hint="run `kmenv init` to start a project here, or pass -C DIR",
    )


@dataclass(frozen=True)
class InstallState:
    """What ``.kmenv/state.json`` says was installed.

    ``generation`` is the generation built from the lock whose bytes hash to ``lock_sha256``, next
    to the ``kmodels.yaml`` whose bytes hash to ``spec_sha256``. ``fast_path`` says whether the
    no-op check may trust these digests alone (not after ``--frozen``, nor with a detected
    environment, which can change while no file does). ``rolled_back_from`` is set by
    ``kmenv rollback``, which also clears ``lock_sha256`` so that nothing reports "up to date".
    ``format`` is :data:`STATE_FORMAT` for states this version wrote (None when absent). ``groups``: the lock's
    groups the generation holds (``default`` is ``models:``).
    """

    generation: int | None
    lock_sha256: str | None
    spec_sha256: str | None
    fast_path: bool
    rolled_back_from: int | None = None
    format: int | None = STATE_FORMAT
    groups: tuple[str, ...] = DEFAULT_GROUPS

    @classmethod
    def from_json(cls, data: object) -> InstallState | None:
        """The state a decoded ``state.json`` holds; None when it is no object. Ill-typed fields read as absent."""
        fields = decode_state(dict(data) if isinstance(data, Mapping) else data)
        return None if fields is None else cls(**fields)

    def to_json(self) -> dict[str, object]:
        """The object ``state.json`` holds (``rolled_back_from`` only when set)."""
        return encode_state(
            self.generation, self.lock_sha256, self.spec_sha256, self.fast_path, self.rolled_back_from, self.groups
        )

    def rolled_back(self, generation: int, *, current: int) -> InstallState:
        """This state after ``kmenv rollback`` from generation ``current`` to ``generation``."""
        return replace(self, generation=generation, lock_sha256=None, fast_path=False, rolled_back_from=current)


def read_install_state(env_dir: Path) -> InstallState | None:
    """The state recorded in ``env_dir`` (a ``.kmenv`` folder); None when absent or unreadable (check everything)."""
    fields = read_state(env_dir)
    return None if fields is None else InstallState(**fields)
