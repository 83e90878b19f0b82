"""``kmenv export``: the lock as a CycloneDX 1.6 bill of materials or as pip requirements."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="export the lock: CycloneDX 1.6 SBOM or pip requirements",
        **examples("kmenv export --format cyclonedx --output sbom.json", "kmenv export --format requirements"),
    )
    p.add_argument("--format", choices=("cyclonedx", "requirements"), required=True, help="what to write")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    import sys
    from pathlib import Path

    from kmenv.cli.commands._common import open_project
    from kmenv.export import render_cyclonedx, render_requirements

    project = open_project(args, ui)
    state = project.open()
    lock = state.require_lock()
    if args.format == "cyclonedx":
        text = render_cyclonedx(lock, project=project.root.name, policy=state.inputs.policy)
    else:
        text = render_requirements(lock)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        ui.note(f"wrote {args.format} to {args.output}")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0
