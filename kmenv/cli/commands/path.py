"""``kmenv path NAME``: the absolute path of an installed model, for scripts."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "path",
        help="print the absolute path of an installed model",
        **examples("kmenv path gemma", 'python train.py --model "$(kmenv path gemma)"'),
    )
    p.add_argument("name")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.api import locate

    where = locate(args.name, project=args.project, warn=ui.warn)
    if args.json:
        ui.emit_json("path", {"name": args.name, "path": str(where)})
    else:
        print(where)
    return 0
