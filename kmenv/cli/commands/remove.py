"""``kmenv remove``: drop a model from kmodels.yaml (comments kept), then re-lock."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "remove",
        help="remove a model from kmodels.yaml and update the lock",
        **examples("kmenv remove gemma", "kmenv remove gemma --no-lock"),
    )
    p.add_argument("name", help="the model's name in kmodels.yaml")
    p.add_argument("--no-lock", action="store_true", help="only edit kmodels.yaml")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.spec_change import remove_model
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.commands.lock import report_lock

    project = open_project(args, ui)
    change = remove_model(project, args.name, relock=not args.no_lock)
    ui.line(f"Removed {args.name}")
    for warning in change.warnings:
        ui.warn(warning)
    if change.lock is not None:
        report_lock(ui, change.lock)
        ui.note("run `kmenv install` to apply the new lock to the environment")
    return 0
