"""What a generation holds, compared with a lock by content rather than by the lock file's bytes.

A generation is the files of some models at some versions. The lock adds what they were resolved
from (its recorded inputs), which can change while the models stay the same. Two locks with the same
models, versions and files (path, sha256, size) materialise identical generations, so ``install``
reuses a kept generation instead of building a copy, ``rollback`` can say when it has arrived at the
generation the lock describes, and ``list``/``tree``/``why`` describe what is installed (the lock each
generation records beside it) and say where that differs from ``kmodels.lock``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kmenv.environment.layout import read_install_state
from kmenv.errors import LockfileError
from kmenv.lockfile.document import LockedModel, LockFile, parse_lock

if TYPE_CHECKING:
    from kmenv.actions.state import ProjectState
    from kmenv.environment.generations import EnvironmentDir

__all__ = [
    "EnvironmentView",
    "content",
    "differences",
    "environment_view",
    "generation_lock",
    "installed_part",
    "matching_generation",
]

#: A generation's content: (model name, handle, version, {(path, sha256, size)}) for every model.
Content = frozenset[tuple[str, str, int, frozenset[tuple[str, str, int]]]]


def content(lock: LockFile) -> Content:
    """What a generation built from ``lock`` holds; equal for locks that differ only in recorded inputs."""
    return frozenset((name, model.handle, model.version, _files(model)) for name, model in lock.models.items())


def _files(model: LockedModel) -> frozenset[tuple[str, str, int]]:
    return frozenset((f.path, f.sha256, f.size) for f in model.files)


def installed_part(lock: LockFile, models: Mapping[str, LockedModel]) -> LockFile:
    """``lock`` narrowed to ``models`` (the groups an install chose): what that generation holds, as a lock.

    The lock itself when it is all of them; otherwise a consistent lock of just those models, their
    ``required-by`` lists kept to the models it holds.
    """
    if models.keys() == lock.models.keys():
        return lock
    kept = {
        name: model.model_copy(update={"required_by": [p for p in model.required_by if p in models]})
        for name, model in models.items()
    }
    return lock.model_copy(update={"models": kept})


def generation_lock(env: EnvironmentDir, generation: int) -> LockFile | None:
    """The lock ``generation`` records; None when it records none (an older kmenv built it) or it is unreadable."""
    text = env.read_record(generation)
    if text is None:
        return None
    try:
        return parse_lock(text, f"the record of generation {generation} in {env.root}")
    except LockfileError:
        return None


def matching_generation(env: EnvironmentDir, lock: LockFile) -> int | None:
    """A kept generation whose content equals ``lock``'s: the one in use if it does, else the newest that does."""
    wanted = content(lock)
    current = env.current()
    kept = env.generations()
    order = ([current] if current in kept else []) + [n for n in reversed(kept) if n != current]
    for number in order:
        recorded = generation_lock(env, number)
        if recorded is not None and content(recorded) == wanted:
            return number
    return None


@dataclass(frozen=True)
class EnvironmentView:
    """The generation in use, the lock that describes it, and kmodels.lock, for ``list``/``tree``/``why``.

    ``generation``: None when nothing is installed. ``held``: what the generation holds; None when
    nothing is installed or the generation records nothing readable (then ``unrecorded``).
    ``lock``: kmodels.lock (None when there is none). ``differences``: where ``held`` and ``lock``
    differ, one readable line per model.
    """

    generation: int | None
    held: LockFile | None
    lock: LockFile | None
    unrecorded: bool = False
    differences: tuple[str, ...] = ()

    @property
    def described(self) -> LockFile | None:
        """What the views show: the generation in use where known, else the lock (nothing installed yet)."""
        return self.held if self.held is not None else self.lock


def environment_view(env: EnvironmentDir, state: ProjectState) -> EnvironmentView:
    """What ``env`` has in use next to ``state``'s lock; raises UsageError when there is neither.

    A generation an older kmenv built records no lock; when ``state.json`` says it was built from
    the current lock, that lock describes it.
    """
    lock = state.lock
    generation = env.current()
    if generation is None or not env.generation_path(generation).is_dir():
        if lock is None:
            state.require_lock()
        return EnvironmentView(None, None, lock)
    held = generation_lock(env, generation)
    if held is None:
        recorded = read_install_state(env.root)
        fits = recorded is not None and recorded.generation == generation and recorded.lock_sha256 == state.lock_sha256
        if lock is None or not fits:
            return EnvironmentView(generation, None, lock, unrecorded=True)
        held = lock
    return EnvironmentView(generation, held, lock, differences=tuple(differences(held, lock)))


def differences(held: LockFile, lock: LockFile | None) -> list[str]:
    """Where the generation holding ``held`` differs from ``lock``, one readable line per model; [] when alike."""
    if lock is None:
        return []
    lines = []
    for name in sorted(held.models.keys() | lock.models.keys()):
        have, want = held.models.get(name), lock.models.get(name)
        if want is None:
            lines.append(f"{name}: installed, not in kmodels.lock")
        elif have is None:
            lines.append(f"{name}: in kmodels.lock (version {want.version}), not installed")
        elif have.version != want.version or have.handle != want.handle:
            theirs = want.version if have.handle == want.handle else f"{want.handle}/{want.version}"
            lines.append(f"{name}: version {have.version} installed, {theirs} in kmodels.lock")
        elif _files(have) != _files(want):
            lines.append(f"{name}: version {have.version} installed with other files than kmodels.lock lists")
    return lines
