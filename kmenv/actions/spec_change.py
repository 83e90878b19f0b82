"""``kmenv add`` and ``kmenv remove``: edit kmodels.yaml (comments and layout kept), then re-lock.

Adding is one transaction: a model that cannot be locked is not left half-added, so the
declaration is put back as it was when the lock fails. Removing needs no undo (a lock
without the model always exists), so it records the removal and re-locks when asked.

Each edit holds the project's lock (the environment's, which installs hold too) from reading
kmodels.yaml to writing kmodels.lock, and reads both files again once it has it: two ``kmenv add``
run at once each see the other's model instead of writing back what they read before.
Removing a model another one needs as its base works as ``uv remove`` does for a package that is
also a dependency of another: the declaration goes, the model stays locked as that one's base (under
the base's own name), and a warning says so, since code asking ``kmenv.path`` for the removed name
no longer finds it. A base model that was never declared cannot be removed: the fine-tune is what to
remove, and the error says which.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kmenv.actions.lock import LockOutcome, lock_project
from kmenv.actions.state import ProjectState, write_spec
from kmenv.errors import KmenvError, UsageError
from kmenv.ledger.events import Event

if TYPE_CHECKING:
    from kmenv.actions.project import Project

__all__ = ["SpecChange", "add_model", "declared_name", "editing", "remove_model"]


@dataclass(frozen=True)
class SpecChange:
    """A declaration edit: the model's name, the project after it, and the re-lock (None when not asked for).

    ``warnings``: what the edit leaves that the user may not expect (a removed model still needed as a base).
    """

    name: str
    state: ProjectState
    lock: LockOutcome | None = None
    warnings: tuple[str, ...] = ()


@contextlib.contextmanager
def editing(
    project: Project, state: ProjectState | None = None, *, operation: str = "editing kmodels.yaml"
) -> Iterator[ProjectState]:
    """Hold the project's lock and yield its files as they are now, read under it.

    ``state`` (what the caller read earlier) is kept when the files still hold those bytes, so
    what it already parsed is not parsed again; otherwise the files are read afresh. ``operation`` is what a
    run waiting for the lock is told this one is doing.
    """
    with project.environment.lock(operation):
        fresh = ProjectState(project.root)
        if state is not None and state.spec_bytes == fresh.spec_bytes and state.lock_bytes == fresh.lock_bytes:
            yield state
        else:
            yield fresh


def declared_name(requirement: str, name: str | None = None) -> str:
    """The name ``kmenv add REQUIREMENT`` declares: ``name``, else derived from the handle before any ``@SPEC``."""
    from kmenv.spec.edit import default_name
    from kmenv.values.handles import Handle

    return name or default_name(Handle.parse(requirement.split("@", 1)[0]))


def add_model(
    project: Project,
    requirement: str,
    *,
    name: str | None = None,
    relock: bool = True,
    state: ProjectState | None = None,
    on_restore: Callable[[str], None] | None = None,
) -> SpecChange:
    """Declare ``requirement`` (``HANDLE[@SPEC]``) under ``name``, then re-lock unless ``relock`` is false.

    When the lock fails, kmodels.yaml is written back as it was, ``on_restore`` hears the name,
    and the error propagates. The whole edit holds the project's lock (see the module docstring).
    """
    from kmenv.spec.edit import add_model as edit

    chosen = declared_name(requirement, name)
    with editing(project, state, operation="adding a model") as state:
        original = state.spec_text
        edited = write_spec(state, edit(original, chosen, requirement, filename=str(state.spec_path)))
        if not relock:
            return SpecChange(chosen, edited)
        try:
            outcome = lock_project(project, edited)
        except BaseException:
            write_spec(state, original)  # a model that cannot be locked is not left half-added
            if on_restore is not None:
                on_restore(chosen)
            raise
        return SpecChange(chosen, outcome.state, outcome)


def remove_model(project: Project, name: str, *, state: ProjectState | None = None, relock: bool = False) -> SpecChange:
    """Drop ``name`` from kmodels.yaml and record the removal; with ``relock``, re-lock under the same lock."""
    from kmenv.spec.edit import remove_model as edit

    with editing(project, state, operation="removing a model") as state:
        needed_by, declared = _needed_as_base(state, name)
        if needed_by and not declared:
            raise UsageError(
                f"{name!r} is not declared in {state.spec_path.name}: it is locked as the base model of "
                f"{', '.join(needed_by)}",
                hint=f"remove {' and '.join(needed_by)} to drop it",
            )
        edited = write_spec(state, edit(state.spec_text, name, filename=str(state.spec_path)))
        project.ledger.record([Event("remove", project=str(state.root), environment=str(state.env_path), model=name)])
        warnings: tuple[str, ...] = ()
        if needed_by:
            warnings = (
                f"{name} is the base model of {', '.join(needed_by)}: it stays locked and installed as "
                f"{'their' if len(needed_by) > 1 else 'its'} base, under the base model's own name; "
                f"kmenv.path({name!r}) will no longer find it",
            )
        if not relock:
            return SpecChange(name, edited, warnings=warnings)
        outcome = lock_project(project, edited)
        return SpecChange(name, outcome.state, outcome, warnings=warnings)


def _needed_as_base(state: ProjectState, name: str) -> tuple[list[str], bool]:
    """The locked models whose base is ``name``, and whether the lock has it as declared (not only a base).

    Nothing is needed when there is no readable lock (the edit then reports what it finds).
    """
    try:
        lock = state.lock
    except KmenvError:
        return [], True
    model = lock.models.get(name) if lock is not None else None
    return (sorted(model.required_by), model.direct) if model is not None else ([], True)
