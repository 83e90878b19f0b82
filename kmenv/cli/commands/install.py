"""``kmenv install`` (alias ``sync``): make the environment match the lock."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, add_link_mode
from kmenv.cli.ui import UI
from kmenv.values.wording import counted


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("install", aliases=["sync"], help="lock if needed, fetch, and switch the environment")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--locked", action="store_true", help="fail (exit 2) if kmodels.lock is missing or stale")
    group.add_argument("--frozen", action="store_true", help="install kmodels.lock as it is, without checking it")
    add_link_mode(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.install import install
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.commands.lock import change_text
    from kmenv.cli.progress import CliReporter
    from kmenv.values.candidates import format_size

    project = open_project(args, ui)
    reporter = CliReporter(ui)
    try:
        outcome = install(project, locked=args.locked, frozen=args.frozen, reporter=reporter)
    finally:
        reporter.close()
    for warning in outcome.warnings:
        ui.warn(warning)
    if args.json:
        ui.emit_json(
            {
                "generation": outcome.generation,
                "switched": outcome.switched,
                "relocked": outcome.relocked,
                "changes": [{"name": n, "old": o, "new": v} for n, o, v in outcome.changes],
                "fetched_files": outcome.fetched_files,
                "fetched_bytes": outcome.fetched_bytes,
                "models": {n: m.version for n, m in outcome.lock.models.items()},
                "environment": str(project.env_path),
            }
        )
        return 0
    for name, old, new in outcome.changes:
        ui.line(f"  {name}: {change_text(old, new)}")
    count = len(outcome.lock.models)
    if outcome.switched:
        fetched = (
            f", fetched {counted(outcome.fetched_files, 'file')}, {format_size(outcome.fetched_bytes)}"
            if outcome.fetched_files
            else ""
        )
        ui.line(
            f"Installed {counted(count, 'model')} into {project.env_path} (generation {outcome.generation}{fetched})"
        )
    else:
        ui.line(f"Environment up to date ({counted(count, 'model')}, generation {outcome.generation}); nothing to do.")
    return 0
