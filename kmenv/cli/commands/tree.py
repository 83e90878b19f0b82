"""``kmenv tree``: the installed declared models and the base models they pull in."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tree",
        help="show the dependency tree (fine-tunes and their base models)",
        **examples("kmenv tree", "kmenv tree --json"),
    )
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.inspect import TreeNode, tree
    from kmenv.cli.commands.list_ import open_view, say_differences

    view, _ = open_view(args, ui)
    described = view.described
    roots = tree(described, view.lock) if described is not None else []
    if args.json:
        ui.emit_json("tree", {"models": [n.as_dict() for n in roots]})
        return 0

    def show(node: TreeNode, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└── " if last else "├── ")
        ui.line(f"{prefix}{branch}{node.name} {node.handle} [{node.license}]  ({node.why})")
        inner = prefix if top else prefix + ("    " if last else "│   ")
        for i, child in enumerate(node.children):
            show(child, inner, i == len(node.children) - 1, False)

    for root in roots:
        show(root, "", True, True)
    say_differences(ui, view)
    return 0
