"""``kmenv install`` (alias ``sync``): make the environment match the lock."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_connections, add_json, add_link_mode, examples
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.lockfile.groups import GroupRequest


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "install",
        aliases=["sync"],
        help="lock if needed, fetch, and switch the environment",
        **examples(
            "kmenv install",
            "kmenv install --locked                # CI: never rewrite kmodels.lock",
            "kmenv install --group eval --link-mode copy",
        ),
    )
    add_lock_mode(p)
    add_group_options(p)
    add_link_mode(p)
    add_connections(p)
    add_json(p)
    p.set_defaults(run=run)


def add_lock_mode(p: argparse.ArgumentParser) -> None:
    """``--locked`` or ``--frozen`` (also ``KMENV_LOCKED``/``KMENV_FROZEN``, folded in by the app)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--locked", action="store_true", help="fail (exit 2) if kmodels.lock is missing or stale")
    group.add_argument("--frozen", action="store_true", help="install kmodels.lock as it is, without checking it")


def add_group_options(p: argparse.ArgumentParser) -> None:
    """``--group``, ``--only-group``, ``--no-group`` and ``--all-groups``, as uv spells its dependency groups."""
    p.add_argument(
        "--group", action="append", default=[], metavar="NAME", help="also install this group of kmodels.yaml groups:"
    )
    p.add_argument(
        "--only-group",
        action="append",
        default=[],
        metavar="NAME",
        help="install only this group (not models:); repeatable",
    )
    p.add_argument("--no-group", action="append", default=[], metavar="NAME", help="leave this group out")
    p.add_argument("--all-groups", action="store_true", help="install every group")


def group_request(args: argparse.Namespace) -> GroupRequest:
    """The group flags as a request; ``--only-group`` with ``--group`` or ``--all-groups`` is a usage error."""
    from kmenv.errors import UsageError
    from kmenv.lockfile.groups import GroupRequest

    if args.only_group and (args.group or args.all_groups):
        raise UsageError(
            "--only-group cannot be combined with --group or --all-groups",
            hint="--only-group already names every group to install",
        )
    return GroupRequest(tuple(args.group), tuple(args.only_group), tuple(args.no_group), args.all_groups)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.install import install
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.commands.lock import change_text
    from kmenv.cli.install_summary import installed_lines
    from kmenv.cli.progress import CliReporter
    from kmenv.lockfile.groups import describe

    groups = group_request(args)
    project = open_project(args, ui)
    reporter = CliReporter(ui)
    try:
        outcome = install(project, locked=args.locked, frozen=args.frozen, reporter=reporter, groups=groups)
    finally:
        reporter.close()
    for warning in outcome.warnings:
        ui.warn(warning)
    if args.json:
        ui.emit_json(
            "install",
            {
                "generation": outcome.generation,
                "switched": outcome.switched,
                "relocked": outcome.relocked,
                "changes": [{"name": n, "old": o, "new": v} for n, o, v in outcome.changes],
                "fetched_files": outcome.fetched_files,
                "fetched_bytes": outcome.fetched_bytes,
                "models": {n: m.version for n, m in outcome.models.items()},
                "groups": list(outcome.groups),
                "environment": str(project.env_path),
                "cleanup": None
                if outcome.cleanup is None
                else {
                    "generations": outcome.cleanup.generations,
                    "blobs": outcome.cleanup.blobs,
                    "blob_bytes": outcome.cleanup.blob_bytes,
                },
            },
        )
        return 0
    for name, old, new in outcome.changes:
        ui.line(f"  {name}: {change_text(old, new)}")
    count = len(outcome.models)
    models = counted(count, "model")
    chosen = describe(outcome.groups)
    if outcome.switched:
        for line in installed_lines(
            count,
            chosen,
            str(project.env_path),
            outcome.generation,
            fetched_files=outcome.fetched_files,
            fetched_bytes=outcome.fetched_bytes,
            cleanup=outcome.cleanup,
        ):
            ui.line(line)
    else:
        which = f" {chosen}" if chosen else ""
        ui.line(f"Environment up to date ({models}{which}, generation {outcome.generation}); nothing to do.")
    return 0
