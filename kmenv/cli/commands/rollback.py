"""``kmenv rollback [GENERATION]``: switch the environment to another kept generation, atomically."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rollback",
        help="switch the environment back (or forward) to another kept generation",
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
            "rollback",
            {
                "environment": str(project.env_path),
                "previous": outcome.previous,
                "generation": outcome.current,
                "available": list(outcome.available),
                "direction": "forward" if outcome.forward else "back",
                "matches_lock": outcome.matches_lock,
                "differences": list(outcome.differences),
            },
        )
        return 0
    verb = "Rolled forward" if outcome.forward else "Rolled back"
    ui.line(f"{verb} {project.env_path} from generation {outcome.previous} to {outcome.current}")
    if outcome.matches_lock:
        ui.note(f"  generation {outcome.current} matches kmodels.lock: `kmenv install` has nothing to do")
        return 0
    if outcome.matches_lock is None:
        ui.note(f"  generation {outcome.current} cannot be compared with kmodels.lock (no lock, or no record of it)")
        return 0
    for line in outcome.differences:
        ui.note(f"  {line}")
    older = "older" if not outcome.forward else "matching"
    ui.note(
        "  kmodels.lock describes other models: `kmenv install` would return to them; "
        f"restore the {older} lock (e.g. from version control) to stay here"
    )
    return 0
