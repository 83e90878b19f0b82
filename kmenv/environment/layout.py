"""Find a project's files: the nearest ``kmodels.yaml`` upward, its lock and environment.

Standard library only: this runs on the no-op fast path and inside ``kmenv.path()``.
"""

from __future__ import annotations

from pathlib import Path

from kmenv.errors import ProjectNotFoundError

__all__ = ["ENV_DIRNAME", "LOCK_FILENAME", "SPEC_FILENAME", "find_project_dir"]

SPEC_FILENAME = "kmodels.yaml"
LOCK_FILENAME = "kmodels.lock"
ENV_DIRNAME = ".kmenv"


def find_project_dir(start: str | Path | None = None, *, explicit: bool = False) -> Path:
    """The folder holding ``kmodels.yaml``: ``start`` itself when ``explicit`` (``-C DIR``), else upward from it."""
    here = Path(start if start is not None else Path.cwd()).expanduser().absolute()
    if explicit:
        if (here / SPEC_FILENAME).is_file():
            return here
        raise ProjectNotFoundError(
            f"no {SPEC_FILENAME} in {here}",
            hint=f"create one with `kmenv -C {here} init`, or point -C at a project folder",
        )
    for folder in (here, *here.parents):
        if (folder / SPEC_FILENAME).is_file():
            return folder
    raise ProjectNotFoundError(
        f"no {SPEC_FILENAME} in {here} or any folder above it",
        hint="run `kmenv init` to start a project here, or pass -C DIR",
    )
