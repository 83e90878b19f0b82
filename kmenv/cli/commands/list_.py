"""``kmenv list``: the locked models with version, licence, size and installed path."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "list",
        help="list the locked models and where they are installed",
        **examples("kmenv list", "kmenv list --json"),
    )
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.inspect import list_rows
    from kmenv.cli.commands._common import open_project
    from kmenv.values.candidates import format_size

    project = open_project(args, ui)
    rows = list_rows(project.open().require_lock(), project.env_path / "models")
    if args.json:
        ui.emit_json([r.as_dict() for r in rows])
        return 0
    grouped = any(r.groups != ("default",) for r in rows)  # a group column only when kmodels.yaml has groups
    ui.table(
        ["name", "handle", "version", "licence", "size", *(["groups"] if grouped else []), "path"],
        [
            [
                r.name if r.direct else f"{r.name} (base)",
                r.handle.rsplit("/", 1)[0],
                str(r.version),
                r.license,
                format_size(r.size),
                *([",".join(r.groups)] if grouped else []),
                r.path or "(not installed)",
            ]
            for r in rows
        ],
        right=("version", "size"),
    )
    return 0
