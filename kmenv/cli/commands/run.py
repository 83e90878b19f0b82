"""``kmenv run -- CMD``: install if needed, then run a program with the models' paths in its environment."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import examples
from kmenv.cli.commands.install import add_lock_mode
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.project import Project

#: What a shell answers for a program it cannot find, and for one it cannot execute.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="install if needed, then run a command with KMENV_MODEL_<NAME> variables set",
        description="Run CMD in the project's environment: KMENV_MODEL_<NAME> holds each installed model's path "
        "(name upper-cased, other characters than letters and digits as _), KMENV_PROJECT the project folder and "
        "KMENV_ENVIRONMENT its .kmenv. The exit code is CMD's (127: not found, 126: not executable).",
        **examples(
            "kmenv run -- python train.py          # install if needed, then run with KMENV_MODEL_* set",
            "kmenv run --locked -- pytest -q       # fail (exit 2) instead of re-locking a stale kmodels.lock",
            "kmenv run --no-install -- sh -c 'ls \"$KMENV_MODEL_GEMMA\"'",
        ),
    )
    p.add_argument("--no-install", action="store_true", help="run with what is installed now; never install")
    add_lock_mode(p)
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the command to run")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.run_env import run_environment
    from kmenv.errors import UsageError

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("no command to run", hint="put it after --, e.g. kmenv run -- python train.py")
    root, env_path = project_paths(args, ui, install=not args.no_install)
    found = run_environment(root, env_path)
    for note in found.collision_notes():
        ui.warn(note)
    return execute(argv, {**os.environ, **found.variables})


def project_paths(args: argparse.Namespace, ui: UI, *, install: bool) -> tuple[Path, Path]:
    """The project folder and its environment, installing first when asked and needed.

    An environment already up to date is found without opening the project (no YAML, no registries): the
    no-op check of ``kmenv install``, so a program starts as soon as kmenv itself has.
    """
    from kmenv.environment.fastpath import locate_project, up_to_date
    from kmenv.environment.layout import ENV_DIRNAME

    found = locate_project(args.project, explicit=args.project is not None)
    if found is not None and not (install and up_to_date(found) is None):
        return Path(found), Path(found) / ENV_DIRNAME
    from kmenv.cli.commands._common import open_project

    project = open_project(args, ui)  # explains a missing project
    if install:
        _install(project, args, ui)
    return project.root, project.env_path


def _install(project: Project, args: argparse.Namespace, ui: UI) -> None:
    """The install step, its chatter on stderr: stdout belongs to the command."""
    from kmenv.actions.run_env import ensure_installed
    from kmenv.cli.progress import CliReporter

    reporter = CliReporter(ui)
    try:
        outcome = ensure_installed(project, locked=args.locked, frozen=args.frozen, reporter=reporter)
    finally:
        reporter.close()
    if outcome is None:
        return
    for warning in outcome.warnings:
        ui.warn(warning)
    if outcome.switched:
        ui.note(f"installed {counted(len(outcome.models), 'model')} (generation {outcome.generation})")


def execute(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Replace this process with ``argv`` (POSIX), or run it and return its code; 127/126 as a shell says them."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if os.name == "posix":
            os.execvpe(argv[0], list(argv), dict(env))
        import subprocess

        return subprocess.run(list(argv), env=dict(env), check=False).returncode
    except FileNotFoundError:
        print(f"kmenv run: {argv[0]}: command not found", file=sys.stderr)
        return EXIT_NOT_FOUND
    except PermissionError:
        print(f"kmenv run: {argv[0]}: permission denied", file=sys.stderr)
        return EXIT_NOT_EXECUTABLE
    except OSError as exc:  # ENOEXEC and friends: a file that is no program
        print(f"kmenv run: {argv[0]}: cannot execute: {exc.strerror}", file=sys.stderr)
        return EXIT_NOT_EXECUTABLE
