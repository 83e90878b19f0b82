"""The Python API: what code that loads models calls, and what the CLI is built on.

``kmenv.path("gemma")`` is meant for hot paths in user code (model loading), so it reads no
YAML, imports nothing heavy and touches only the environment folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.environment.layout import ENV_DIRNAME, find_project_dir
from kmenv.values.paths import is_model_name

if TYPE_CHECKING:
    from kmenv.actions.install import InstallOutcome
    from kmenv.actions.lock import LockOutcome
    from kmenv.actions.progress_display import ConsoleReporter
    from kmenv.actions.project import Project

__all__ = ["install", "locate", "lock", "path"]


def path(name: str, project: str | Path | None = None) -> Path:
    """Absolute path of the installed model ``name`` in the project at (or above) ``project``.

    Raises :class:`kmenv.errors.NotInstalledError` (a ``LookupError``) when it is not installed.
    """
    return locate(name, project)


def locate(name: str, project: str | Path | None = None, *, warn: Callable[[str], None] | None = None) -> Path:
    """:func:`path`, with ledger trouble reported to ``warn`` (default: one line on stderr per process)."""
    root = find_project_dir(project, explicit=False)
    folder = root / ENV_DIRNAME / "models" / name
    if not is_model_name(name) or not folder.is_dir():
        from kmenv.actions.inspect import not_installed

        raise not_installed(root, name)  # says whether the name is declared at all
    resolved = folder.resolve()
    _record_use(root, name, resolved, warn)
    return resolved


def _record_use(root: Path, name: str, resolved: Path, warn: Callable[[str], None] | None) -> None:
    """One ``use`` event in the usage ledger (a single insert; see :mod:`kmenv.ledger.uses`)."""
    from kmenv.ledger.uses import record_use

    generation = resolved.parent.name
    record_use(root, name, generation=int(generation) if generation.isdigit() else None, warn=warn)


def lock(project: str | Path | Project | None = None, *, progress: bool = False) -> LockOutcome:
    """Resolve the project's kmodels.yaml and write kmodels.lock (keeping locked versions that still fit).

    ``progress=True`` shows the downloads that learning Kaggle sha256s makes, as :func:`install` does.
    """
    from kmenv.actions.lock import lock_project

    reporter = _reporter(progress)
    try:
        return lock_project(_project(project), progress=reporter.downloads() if reporter else None)
    finally:
        if reporter is not None:
            reporter.close()


def install(
    project: str | Path | Project | None = None,
    *,
    locked: bool = False,
    frozen: bool = False,
    progress: bool = False,
) -> InstallOutcome:
    """Make the project's environment match its lock, locking first when needed.

    ``progress=True`` draws the CLI's download bars: in a terminal (on stderr) and in a Jupyter notebook (as a
    widget, with ``ipywidgets`` installed); elsewhere a total is written to stderr every few seconds.
    """
    from kmenv.actions.install import install as run

    reporter = _reporter(progress)
    try:
        return run(_project(project), locked=locked, frozen=frozen, reporter=reporter)
    finally:
        if reporter is not None:
            reporter.close()


def _reporter(progress: bool) -> ConsoleReporter | None:
    if not progress:
        return None
    from kmenv.actions.progress_display import ConsoleReporter

    return ConsoleReporter()


def _project(value: str | Path | Project | None) -> Project:
    from kmenv.actions.project import Project

    return value if isinstance(value, Project) else Project.find(value)
