"""``kmenv rollback [GENERATION]``: switch the environment back to an earlier generation, atomically."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rollback",
        help="switch the environment back to an earlier generation",
        **examples("kmenv rollback                        # the previous generation", "kmenv rollback 3"),
    )
    p.add_argument("generation", nargs="?", type=int, metavar="GENERATION", help="default: the previous one")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.rollback import rollback
    from kmenv.cli.commands._common import open_project

    project = open_project(args, ui)
    outcome = rollback(project, args.generation)
    if args.json:
        ui.emit_json(
            {
                "environment": str(project.env_path),
                "previous": outcome.previous,
                "generation": outcome.current,
                "available": list(outcome.available),
            }
        )
        return 0
    ui.line(f"Rolled back {project.env_path} from generation {outcome.previous} to {outcome.current}")
    ui.note(
        "  kmodels.lock still describes the newer models: `kmenv install` would rebuild them; "
        "restore the older lock (e.g. from version control) to stay here"
    )
    return 0
