"""``kmenv registry build``: turn a folder of model files into a static registry."""

from __future__ import annotations

import argparse
from pathlib import Path

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "registry",
        help="static registry tools",
        **examples(
            "kmenv registry build ./model-files ./registry",
            "kmenv registry build ./model-files ./registry --name internal",
        ),
    )
    actions = p.add_subparsers(dest="registry_command", metavar="ACTION")
    actions.required = True
    build = actions.add_parser("build", help="build a static registry from a folder of model files")
    build.add_argument("source", type=Path, help="SOURCE/<owner>/<model>/<framework>/<variation>/<version>/...")
    build.add_argument("out", type=Path, help="output folder (servable by any static HTTP server)")
    build.add_argument("--name", help="registry name recorded in index.json (default: the output folder's name)")
    add_json(build)
    build.set_defaults(run=run_build)


def run_build(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.registry.static.build import build_registry

    report = build_registry(args.source, args.out, name=args.name or args.out.resolve().name)
    if args.json:
        ui.emit_json("registry-build", report.as_dict())
    else:
        ui.line(f"Built {args.out}: {report}")
    return 0
