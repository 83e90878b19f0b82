"""``kmenv history``: what changed in this project, and when (from the usage ledger)."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "history",
        help="what changed in this project, and when",
        **examples("kmenv history", "kmenv history --since 7d --uses"),
    )
    p.add_argument("--since", metavar="AGE", help="only the last AGE: 90m, 12h, 30d, 2w")
    p.add_argument("--uses", action="store_true", help="also show uses and downloads")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.usage import now, parse_age, project_history
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.commands.lock import change_text
    from kmenv.cli.commands.usage import when

    since = now() - parse_age(args.since) if args.since else None
    project = open_project(args, ui)
    entries = project_history(project, since=since, uses=args.uses)
    if args.json:
        ui.emit_json("history", {"project": str(project.root), "events": [e.as_dict() for e in entries]})
        return 0
    if not entries:
        ui.line(f"No history recorded for {project.root} yet.")
        return 0
    for entry in entries:
        moves = ", ".join(f"{name} {change_text(old, new)}" for name, old, new in entry.changes)
        what = "; ".join(part for part in (moves, entry.note) if part)
        generation = f"generation {entry.generation}: " if entry.generation is not None else ""
        ui.line(f"{when(entry.time)}  {entry.kind:<8} {generation}{what}".rstrip())
    return 0
