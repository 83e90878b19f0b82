"""``kmenv why NAME``: every reason a model is in the lock."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "why",
        help="explain why a model is in the environment",
        **examples("kmenv why tiny-lm-base", "kmenv why tiny-lm-base --json"),
    )
    p.add_argument("name")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.inspect import why
    from kmenv.cli.commands._common import open_project

    chains = why(open_project(args, ui).open().require_lock(), args.name)
    if args.json:
        ui.emit_json({"name": args.name, "chains": chains})
        return 0
    for chain in chains:
        ui.line(" → ".join(chain))
    return 0
