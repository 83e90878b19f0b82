"""``kmenv list``: the installed models (the generation in use) with version, licence, size and path.

Also home of what ``tree`` and ``why`` share: opening the environment's view and saying where the
generation in use differs from kmodels.lock.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI

if TYPE_CHECKING:
    from kmenv.actions.generation_content import EnvironmentView
    from kmenv.actions.inspect import ModelRow


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "list",
        help="list the installed models (and locked ones not installed) with their paths",
        **examples("kmenv list", "kmenv list --json"),
    )
    add_json(p)
    p.set_defaults(run=run)


def open_view(args: argparse.Namespace, ui: UI) -> tuple[EnvironmentView, str]:
    """The environment's view and the project's ``models`` folder."""
    from kmenv.actions.generation_content import environment_view
    from kmenv.cli.commands._common import open_project

    project = open_project(args, ui)
    return environment_view(project.environment, project.open()), str(project.env_path / "models")


def say_differences(ui: UI, view: EnvironmentView) -> None:
    """Notes (stderr) on where the generation in use differs from kmodels.lock, and what to do about it."""
    if view.unrecorded:
        ui.note(
            f"generation {view.generation} records no description of its models (an older kmenv built it): "
            "showing kmodels.lock; `kmenv install` records one"
        )
        return
    if not view.differences:
        return
    ui.note(f"generation {view.generation} (in use) differs from kmodels.lock:")
    for line in view.differences:
        ui.note(f"  {line}")
    ui.note("run `kmenv install` to install what the lock describes")


def _version(row: ModelRow) -> str:
    """The installed version, and the lock's where it names another (or does not have the model)."""
    if not row.installed or row.locked_version == row.version:
        return str(row.version)
    return f"{row.version} (lock: {row.locked_version or 'none'})"


def run(args: argparse.Namespace, ui: UI) -> int:
    from pathlib import Path

    from kmenv.actions.inspect import list_rows
    from kmenv.values.candidates import format_size

    view, models = open_view(args, ui)
    rows = list_rows(view.held, view.lock, Path(models))
    if args.json:
        ui.emit_json("list", {"models": [r.as_dict() for r in rows]})
        return 0
    grouped = any(r.groups != ("default",) for r in rows)  # a group column only when kmodels.yaml has groups
    ui.table(
        ["name", "handle", "version", "licence", "size", *(["groups"] if grouped else []), "path"],
        [
            [
                r.name if r.direct else f"{r.name} (base)",
                r.handle.rsplit("/", 1)[0],
                _version(r),
                r.license,
                format_size(r.size),
                *([",".join(r.groups)] if grouped else []),
                r.path or "(not installed)",
            ]
            for r in rows
        ],
        right=("version", "size"),
    )
    say_differences(ui, view)
    return 0
