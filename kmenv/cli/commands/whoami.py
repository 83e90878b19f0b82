"""``kmenv whoami``: the Kaggle user these credentials sign in as, and where they were found (never the secret)."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "whoami",
        help="ask Kaggle who the credentials found sign in as, and say where they came from",
        **examples(
            "kmenv whoami",
            "KAGGLE_API_TOKEN=... kmenv whoami --json",
        ),
    )
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.account import whoami
    from kmenv.cli.commands._common import runtime

    found = whoami(runtime(args, ui))
    if args.json:
        ui.emit_json("whoami", found.as_dict())
        return 0
    how = "token" if found.auth == "token" else "username and key"
    ui.line(f"{found.user} (signed in with a {how} from {found.source})")
    return 0
