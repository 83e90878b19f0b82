"""A kagglehub model resolver that answers from the project's lock and environment instead of the network.

kagglehub asks the resolvers of ``kagglehub.registry.model_resolver`` in reverse order of registration, the first
whose ``is_supported`` says yes serves the call; the one added here is asked before kagglehub's own. It says yes only
for handles ``kmodels.lock`` holds (owner, model, framework and variation compared case-insensitively, as Kaggle
does) and only without ``force_download``/``output_dir``, which ask for a fresh copy somewhere else. Once it says
yes, it never falls back to the network: a pin the lock does not hold, or an environment that does not match the
lock, is an error saying what to run. Each call reads the lock again (one bounded file read and parse), so a
``kmenv install`` while the program runs is seen at the next call.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kagglehub import registry  # type: ignore[import-untyped, import-not-found, unused-ignore]
from kagglehub.handle import ModelHandle  # type: ignore[import-untyped, import-not-found, unused-ignore]
from kagglehub.resolver import Resolver  # type: ignore[import-untyped, import-not-found, unused-ignore]

from kmenv.environment.layout import ENV_DIRNAME, LOCK_FILENAME, find_project_dir, read_install_state
from kmenv.environment.project_files import read_lock_bytes
from kmenv.errors import NotInstalledError, ProjectNotFoundError, UsageError
from kmenv.ledger.uses import record_use
from kmenv.lockfile.document import LockedModel, parse_lock

__all__ = ["LockedModelResolver", "enable"]

#: The environment variable ``kmenv run`` sets to the project folder.
PROJECT_VARIABLE = "KMENV_PROJECT"


@dataclass(frozen=True)
class Match:
    """A locked model a kagglehub handle names: the project it is in, its name there and its lock entry."""

    root: Path
    name: str
    model: LockedModel
    lock_sha256: str


def _handle_key(owner: str, model: str, framework: str, variation: str) -> str:
    return f"{owner}/{model}/{framework}/{variation}".lower()


def find_locked(project: str | Path | None, handle: ModelHandle) -> Match | None:
    """The locked model ``handle`` names in the project at (or above) ``project``; None outside a locked project."""
    start = project if project is not None else os.environ.get(PROJECT_VARIABLE) or None
    try:
        root = find_project_dir(start, explicit=False)
    except ProjectNotFoundError:
        return None
    data = read_lock_bytes(root / LOCK_FILENAME)
    if data is None:
        return None
    lock = parse_lock(data, str(root / LOCK_FILENAME))
    wanted = _handle_key(handle.owner, handle.model, handle.framework, handle.variation)
    for name, model in lock.models.items():
        if model.handle.lower() == wanted:
            return Match(root, name, model, hashlib.sha256(data).hexdigest())
    return None


def installed_path(match: Match, handle: ModelHandle, path: str | None) -> Path:
    """The installed folder (or the file ``path`` in it) of ``match``; an error naming the fix when it is not there."""
    locked = match.model
    if handle.version is not None and handle.version != locked.version:
        raise UsageError(
            f"kagglehub asked for {handle}, but {LOCK_FILENAME} in {match.root} has {match.name} at version "
            f"{locked.version}",
            hint=f"ask for {locked.handle}/{locked.version} (or leave the version out), or change {match.name} "
            f"in kmodels.yaml and run `kmenv -C {match.root} lock`",
        )
    install = f"kmenv -C {match.root} install"
    state = read_install_state(match.root / ENV_DIRNAME)
    folder = match.root / ENV_DIRNAME / "models" / match.name
    if state is None or state.lock_sha256 != match.lock_sha256 or not folder.is_dir():
        raise NotInstalledError(
            f"{match.name} ({locked.handle}/{locked.version}) is locked but the environment in {match.root} "
            f"does not match {LOCK_FILENAME}",
            hint=f"run `{install}`",
        )
    resolved = folder.resolve()
    target = resolved
    if path is not None:
        relative = PurePosixPath(path)
        target = resolved.joinpath(*relative.parts)
        if relative.is_absolute() or ".." in relative.parts or not target.is_file():
            raise NotInstalledError(
                f"{match.name} ({locked.handle}/{locked.version}) has no file {path!r}",
                hint=f"list its files with `kmenv -C {match.root} show {match.name}`",
            )
    generation = resolved.parent.name
    record_use(match.root, match.name, generation=int(generation) if generation.isdigit() else None)
    return target


class LockedModelResolver(Resolver):  # type: ignore[misc]  # kagglehub ships no type information
    """Serves kagglehub model handles the project's lock holds from its installed environment."""

    def __init__(self, project: str | Path | None = None) -> None:
        self.project = project

    def is_supported(
        self,
        handle: ModelHandle,
        path: str | None = None,
        *,
        force_download: bool | None = False,
        output_dir: str | None = None,
    ) -> bool:
        if force_download or output_dir:
            return False
        return find_locked(self.project, handle) is not None

    def _resolve(
        self,
        handle: ModelHandle,
        path: str | None = None,
        *,
        force_download: bool | None = False,
        output_dir: str | None = None,
    ) -> tuple[str, int | None]:
        match = find_locked(self.project, handle)
        if match is None:  # the lock changed between is_supported and this call
            raise NotInstalledError(f"{handle} is no longer in the project's {LOCK_FILENAME}")
        return str(installed_path(match, handle, path)), match.model.version


_installed: LockedModelResolver | None = None


def enable(project: str | Path | None = None) -> LockedModelResolver:
    """Register the resolver with kagglehub (once per process; a later call only changes ``project``)."""
    global _installed
    if _installed is None:
        _installed = LockedModelResolver(project)
        registry.model_resolver.add_implementation(_installed)
    else:
        _installed.project = project
    return _installed
