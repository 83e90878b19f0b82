"""``kmenv why NAME``: every reason a model is in the environment (or, not installed, in the lock)."""

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
    from kmenv.cli.commands.list_ import open_view, say_differences
    from kmenv.errors import NotInstalledError

    view, _ = open_view(args, ui)
    held, lock = view.held, view.lock
    if held is not None and (args.name in held.models or lock is None or args.name not in lock.models):
        chains = why(held, args.name, where=f"generation {view.generation} (in use)", now=lock)
        source = "generation"
    elif lock is not None:
        chains = why(lock, args.name)
        source = "lock"
    else:
        raise NotInstalledError(
            f"generation {view.generation} records no description of its models and there is no kmodels.lock",
            hint="run `kmenv install` to lock and record what is installed",
        )
    if args.json:
        ui.emit_json(
            "why",
            {
                "name": args.name,
                "chains": chains,
                "generation": view.generation,
                "source": source,
                "differences": list(view.differences),
            },
        )
        return 0
    for chain in chains:
        ui.line(" → ".join(chain))
    if source == "lock" and view.generation is not None:
        ui.note(f"{args.name} is in kmodels.lock but not installed in generation {view.generation}")
    say_differences(ui, view)
    return 0
