"""``kmenv rollback``: point the environment back at an earlier generation, atomically.

Generations are immutable, so going back is one symlink swap. The installer's state is updated
so that neither the no-op fast path nor ``install`` takes the rolled-back environment for one
that matches the current ``kmodels.lock``: the next ``install`` builds the lock again. The target is
checked first (:mod:`kmenv.actions.generation_check`): a damaged generation is refused, not switched to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kmenv.environment.layout import InstallState, read_install_state
from kmenv.errors import IntegrityError, NotInstalledError, UsageError
from kmenv.ledger.events import Event

if TYPE_CHECKING:
    from kmenv.actions.project import Project
    from kmenv.environment.generations import EnvironmentDir

__all__ = ["RollbackOutcome", "refuse_damaged", "rollback", "switch_back"]


@dataclass(frozen=True)
class RollbackOutcome:
    """``previous``: the generation in use before; ``current``: the one in use now; ``available``: all kept."""

    previous: int
    current: int
    available: tuple[int, ...]


def rollback(project: Project, generation: int | None = None) -> RollbackOutcome:
    """Switch the project's environment to ``generation`` (default: the previous one) and record it in the ledger."""
    outcome = switch_back(project.environment, generation, check=lambda n: refuse_damaged(project, n))
    event = Event(
        "rollback",
        project=str(project.root),
        environment=str(project.env_path),
        generation=outcome.current,
        detail={"from": outcome.previous},
    )
    project.ledger.record([event])
    return outcome


def refuse_damaged(project: Project, generation: int) -> None:
    """Raise :class:`IntegrityError` (exit 6) when ``generation`` has missing or modified files."""
    from kmenv.actions.generation_check import check_generation

    problems = check_generation(project.store, project.environment, generation)
    if problems:
        raise IntegrityError(
            f"generation {generation} of {project.env_path} is damaged ({len(problems)} files); nothing was switched",
            hint="`kmenv validate --repair` mends older generations from the store",
            details=[p.render() for p in problems],
        )


def switch_back(
    env: EnvironmentDir, generation: int | None = None, *, check: Callable[[int], None] | None = None
) -> RollbackOutcome:
    """Switch ``env`` to ``generation`` (default: the newest one older than the current); ``check`` may refuse it."""
    with env.lock():
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
        env.switch(generation)
        state = read_install_state(env.root) or InstallState(None, None, None, False, format=None)
        # The lock still describes the newer generation: make sure nothing reports "up to date".
        env.write_state(state.rolled_back(generation, current=current).to_json())
        return RollbackOutcome(current, generation, available)
