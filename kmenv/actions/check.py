"""The edge of ``kmenv check``: read the project's files (and the previous lock from git) and run the pure check.

The previous lock, for "licence changed" findings, is ``--previous FILE`` when given, else
``HEAD:kmodels.lock`` when the project is in a git work tree with a committed lock, else none.
A failed check is the :class:`~kmenv.errors.PolicyViolation` (exit 4) :func:`violation` builds; in a
GitHub Actions job, :func:`add_step_summary` appends the report to the job's summary page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import PolicyViolation, UsageError
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.project import Project
    from kmenv.actions.state import ProjectState
    from kmenv.compliance.check import CheckReport
    from kmenv.lockfile.document import LockFile

__all__ = ["add_step_summary", "check_project", "previous_lock", "violation"]


def _display_path(path: Path) -> str:
    """A path as CI tools want it: relative to the working directory when below it, with '/' separators."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _git_lock(project: Project) -> str | None:
    """The text of kmodels.lock as committed at HEAD, or None (no git, not a repository, nothing committed)."""
    git = shutil.which("git")
    if git is None:
        return None
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(
            [git, "-C", str(project.root), "show", f"HEAD:./{project.lock_path.name}"],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=30,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def previous_lock(project: Project, explicit: Path | None) -> tuple[LockFile | None, str | None]:
    """The lock to compare licences with, and where it came from (for the report)."""
    from kmenv.lockfile.document import parse_lock

    if explicit is not None:
        try:
            text = explicit.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"--previous {explicit}: cannot read it ({exc.strerror or exc})",
                hint="name a kmodels.lock file, e.g. one saved from the main branch",
            ) from None
        return parse_lock(text, str(explicit)), str(explicit)
    committed = _git_lock(project)
    if committed is None:
        return None, None
    return parse_lock(committed, f"HEAD:{project.lock_path.name}"), f"git HEAD:{project.lock_path.name}"


def check_project(
    project: Project, state: ProjectState | None = None, *, previous: Path | None = None, compare_git: bool = True
) -> CheckReport:
    """Check the project's lock (resolving first, without writing, when there is none) against its policy.

    ``state`` is the project as already read (default: read it now).
    """
    from kmenv.actions.lock import resolve_lock
    from kmenv.compliance.check import check_lock
    from kmenv.compliance.places import spec_places

    state = state or project.open()
    lock = state.lock
    if lock is None:
        lock = resolve_lock(state.inputs, project.registries(state.inputs)).lock
    old, source = previous_lock(project, previous) if (previous is not None or compare_git) else (None, None)
    places = spec_places(state.spec_text)
    return check_lock(
        lock,
        state.inputs.policy,
        places=places,
        previous=old,
        previous_source=source,
        spec_file=_display_path(state.spec_path),
        lock_file=_display_path(state.lock_path),
    )


def violation(report: CheckReport) -> PolicyViolation:
    """The error a failed check ends with (exit 4)."""
    return PolicyViolation(
        f"licence policy violated ({counted(report.errors, 'error')})",
        hint="fix each finding above (allow the licence or its category, or add an exception with a reason); "
        "--warn-only reports without failing",
    )


def add_step_summary(report: CheckReport) -> None:
    """Append the report as Markdown to ``$GITHUB_STEP_SUMMARY``, when a GitHub Actions job sets it."""
    from kmenv.compliance.report import render

    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as fh:
            fh.write(render(report, "markdown"))
