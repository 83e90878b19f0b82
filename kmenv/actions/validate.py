"""``kmenv validate``: compare the environment with the lock (missing, modified, extra files) and repair it.

if repair:
    repaired = _repair(project, state, report, reporter, groups)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.actions.tree_check import Damage, check_tree, sha256_of
from kmenv.environment.layout import read_install_state
from kmenv.errors import NotInstalledError
from kmenv.ledger.events import Event
from kmenv.lockfile.groups import DEFAULT_SELECTION, GroupRequest, selected_models

if TYPE_CHECKING:
    from kmenv.actions.install import InstallOutcome, InstallReporter
    from kmenv.actions.project import Project
    from kmenv.actions.state import ProjectState
    from kmenv.environment.generations import EnvironmentDir
    from kmenv.lockfile.document import LockFile
    from kmenv.store.blobstore import Store

__all__ = [
    "Damage",
    "Repair",
    "Validation",
    "ValidationReport",
    "repair_environment",
    "validate_environment",
    "validate_project",
]

_READ = 1 << 20


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_environment` found in generation ``generation`` of ``environment``."""

    environment: Path
    generation: int
    files: int
    bytes: int
    problems: tuple[Damage, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "environment": str(self.environment),
            "generation": self.generation,
            "ok": self.ok,
            "files": self.files,
            "bytes": self.bytes,
            "problems": [d.as_dict() for d in self.problems],
        }


def validate_environment(
    env: EnvironmentDir, lock: LockFile, *, workers: int = 4, groups: Iterable[str] = DEFAULT_SELECTION
) -> ValidationReport:
    """Check the generation ``env`` uses against the models of ``lock`` that ``groups`` take (those it was built
    with); raise NotInstalledError when nothing is installed."""
    generation = env.current()
    if generation is None:
        raise NotInstalledError(
            f"nothing is installed in {env.root}", hint="run `kmenv install` to create the environment"
        )
    models = selected_models(lock, groups)
    expected = {f"{name}/{f.path}": f for name, model in models.items() for f in model.files}
    problems = check_tree(env.generation_path(generation), expected, workers=workers, word="locked")
    total = sum(f.size for f in expected.values())
    return ValidationReport(env.root, generation, len(expected), total, tuple(problems))


def _drop_damaged_blobs(store: Store, report: ValidationReport) -> list[str]:
    """Delete store blobs of damaged files whose bytes no longer match their name; their sha256s.

    A hard-linked file modified in place (after a chmod) damages the blob too: same inode.
    """
    dropped = []
    for sha in sorted({d.sha256 for d in report.problems if d.sha256 is not None}):
        blob = store.blob_path(sha)
        try:
            good = sha256_of(blob) == sha
        except FileNotFoundError:
            continue
        if not good:
            blob.unlink(missing_ok=True)
            dropped.append(sha)
    return dropped


def repair_environment(
    project: Project,
    state: ProjectState,
    report: ValidationReport,
    *,
    reporter: InstallReporter | None = None,
    groups: tuple[str, ...] = DEFAULT_SELECTION,
) -> InstallOutcome:
    """Build and switch to a fresh generation of the lock, re-fetching blobs that are missing or damaged."""
    from kmenv.actions.install import install

    env = project.environment
    with env.lock("repairing"):
        _drop_damaged_blobs(project.store, report)
        env.write_state({})  # forget what was installed: the next step checks everything and rebuilds
    # install takes the environment lock itself (flock on its own descriptor, so not while we hold ours)
    return install(project, state, frozen=True, reporter=reporter, groups=GroupRequest(only=groups), rebuild=True)


@dataclass(frozen=True)
class Repair:
    """What ``--repair`` did: the generation now in use, the files fetched again, whether all checks clean,
    and in older generations the files ``mended`` from the store and those ``left`` (no intact blob for them)."""

    generation: int
    fetched_files: int
    ok: bool
    mended: tuple[str, ...] = ()
    left: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "generation": self.generation,
            "fetched_files": self.fetched_files,
            "ok": self.ok,
            "mended": list(self.mended),
            "left": list(self.left),
        }


@dataclass(frozen=True)
class Validation:
    """``kmenv validate``: the report, the repair when one was asked for and needed, and a rollback to mention.

    ``rolled_back_from`` is the generation ``kmenv rollback`` left (when the environment is damaged
    only because it holds older models than the lock describes).
    """

    report: ValidationReport
    repaired: Repair | None = None
    rolled_back_from: int | None = None

    @property
    def ok(self) -> bool:
        return self.repaired.ok if self.repaired is not None else self.report.ok


def _repair(
    project: Project,
    state: ProjectState,
    report: ValidationReport,
    reporter: InstallReporter | None,
    groups: tuple[str, ...] = DEFAULT_SELECTION,
) -> Repair | None:
    """Rebuild the generation in use when damaged, then mend the older ones; None when nothing needed it."""
    from kmenv.actions.generation_check import check_generation, mend_generation

    env = project.environment
    generation, fetched, ok = report.generation, 0, True
    if not report.ok:
        outcome = repair_environment(project, state, report, reporter=reporter, groups=groups)
        after = validate_environment(env, state.require_lock(), workers=project.settings.max_workers, groups=groups)
        generation, fetched, ok = outcome.generation, outcome.fetched_files, after.ok
    mended, left = [], []
    with env.lock("repairing"):
        for older in env.generations():
            if older != env.current():
                done, undone = mend_generation(
                    project.store,
                    env,
                    check_generation(project.store, env, older),
                    link_mode=project.settings.link_mode,
                )
                mended += [p.render() for p in done]
                left += [p.render() for p in undone]
    if report.ok and not mended and not left:
        return None
    return Repair(generation, fetched, ok and not left, tuple(mended), tuple(left))


def validate_project(
    project: Project,
    state: ProjectState | None = None,
    *,
    repair: bool = False,
    reporter: InstallReporter | None = None,
) -> Validation:
    """Check the environment against the lock; with ``repair``, rebuild it when damaged. Recorded in the ledger."""
    state = state or project.open()
    lock = state.require_lock()
    env, workers = project.environment, project.settings.max_workers
    installed = read_install_state(env.root)
    groups = installed.groups if installed is not None else DEFAULT_SELECTION
    report = validate_environment(env, lock, workers=workers, groups=groups)
    repaired = None
    if repair:
        repaired = _repair(project, state, report, reporter, groups)
    event = Event(
        "validate",
        project=str(project.root),
        environment=str(project.env_path),
        generation=report.generation,
        detail={"problems": len(report.problems)},
    )
    project.ledger.record([event])
    rolled_back = None
    if not report.ok and repaired is None:
        recorded = read_install_state(env.root)
        rolled_back = recorded.rolled_back_from if recorded is not None else None
    return Validation(report, repaired, rolled_back)
