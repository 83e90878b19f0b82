"""``kmenv rollback``: point the environment back at an earlier generation, atomically.

Generations are immutable, so going back (or forward) is one symlink swap. When the generation
switched to holds what ``kmodels.lock`` describes (compared by content, see
:mod:`kmenv.actions.generation_content`), the installer's state records the lock as installed, so
the next ``install`` has nothing to do. Otherwise the state is marked so that neither the no-op fast
path nor ``install`` takes the environment for one that matches the lock: the next ``install``
switches to a kept generation that matches it, or builds one.
The target is checked first (:mod:`kmenv.actions.generation_check`): a damaged generation is refused,
not switched to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kmenv.actions.generation_content import content, differences, generation_lock
from kmenv.environment.layout import InstallState, read_install_state
from kmenv.errors import IntegrityError, KmenvError, NotInstalledError, UsageError
from kmenv.ledger.events import Event
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.project import Project
    from kmenv.actions.state import ProjectState
    from kmenv.environment.generations import EnvironmentDir
    from kmenv.lockfile.document import LockFile

__all__ = ["RollbackOutcome", "refuse_damaged", "rollback", "switch_back"]


@dataclass(frozen=True)
class RollbackOutcome:
    """``previous``: the generation in use before; ``current``: the one in use now; ``available``: all kept.

    ``matches_lock``: the generation now in use holds what kmodels.lock describes (None: no lock, or
    the generation records no description to compare); ``differences``: where it differs, one line each.
    """

    previous: int
    current: int
    available: tuple[int, ...]
    matches_lock: bool | None = None
    differences: tuple[str, ...] = ()

    @property
    def forward(self) -> bool:
        """Whether this switched to a newer generation than the one in use before."""
        return self.current > self.previous


def rollback(project: Project, generation: int | None = None, state: ProjectState | None = None) -> RollbackOutcome:
    """Switch the project's environment to ``generation`` (default: the previous one) and record it in the ledger."""
    state = state or project.open()
    outcome = switch_back(project.environment, generation, state, check=lambda n: refuse_damaged(project, n))
    event = Event(
        "rollback",
        project=str(project.root),
        environment=str(project.env_path),
        generation=outcome.current,
        detail={"from": outcome.previous, "matches_lock": outcome.matches_lock},
    )
    project.ledger.record([event])
    return outcome


def refuse_damaged(project: Project, generation: int) -> None:
    """Raise :class:`IntegrityError` (exit 6) when ``generation`` has missing or modified files."""
    from kmenv.actions.generation_check import check_generation

    problems = check_generation(project.store, project.environment, generation)
    if problems:
        raise IntegrityError(
            f"generation {generation} of {project.env_path} is damaged ({counted(len(problems), 'file')}); "
            "nothing was switched",
            hint="`kmenv validate --repair` mends older generations from the store",
            details=[p.render() for p in problems],
        )


def switch_back(
    env: EnvironmentDir,
    generation: int | None = None,
    state: ProjectState | None = None,
    *,
    check: Callable[[int], None] | None = None,
) -> RollbackOutcome:
    """Switch ``env`` to ``generation`` (default: the newest one older than the current); ``check`` may refuse it.

    ``state`` is the project, whose lock says whether the generation switched to is the one it describes.
    """
    with env.lock("rolling back"):
        current = env.current()
        available = tuple(env.generations())
        listing = ", ".join(map(str, available)) or "none"
        if current is None:
            raise NotInstalledError(f"nothing is installed in {env.root}", hint="run `kmenv install` first")
        if generation is None:
            older = [n for n in available if n < current]
            if not older:
                raise UsageError(
                    f"generation {current} is the oldest one in {env.root}; there is nothing to roll back to",
                    hint=f"kept generations: {listing} (`kmenv gc` may have removed older ones)",
                )
            generation = older[-1]
        if generation == current:
            raise UsageError(f"generation {current} is already in use", hint=f"kept generations: {listing}")
        if generation not in available:
            raise NotInstalledError(
                f"generation {generation} does not exist in {env.root}", hint=f"kept generations: {listing}"
            )
        if check is not None:
            check(generation)
        lock = _lock_of(state)
        held = generation_lock(env, generation)
        env.switch(generation)
        recorded = read_install_state(env.root) or InstallState(None, None, None, False, format=None)
        if state is not None and lock is not None and held is not None and content(held) == content(lock):
            # The fast path is for the next install to re-enable: it alone knows whether it may be trusted.
            env.write_state(InstallState(generation, state.lock_sha256, state.spec_sha256, False).to_json())
            return RollbackOutcome(current, generation, available, True)
        # The lock describes other models: make sure nothing reports "up to date".
        env.write_state(recorded.rolled_back(generation, current=current).to_json())
        found = tuple(differences(held, lock)) if held is not None else ()
        return RollbackOutcome(current, generation, available, None if held is None or lock is None else False, found)


def _lock_of(state: ProjectState | None) -> LockFile | None:
    """The project's lock, or None when there is none or it cannot be read (rollback works without one)."""
    if state is None:
        return None
    try:
        return state.lock
    except KmenvError:
        return None
