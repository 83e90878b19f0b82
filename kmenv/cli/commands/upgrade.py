"""``kmenv upgrade``: move models to newer versions, changing as little as possible; the plan is shown first."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_connections, add_json, add_link_mode, add_refresh, examples
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.upgrade import UpgradePlan


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "upgrade",
        help="upgrade models within their constraints (or beyond, with --latest)",
        **examples("kmenv upgrade", "kmenv upgrade gemma --latest --dry-run", "kmenv upgrade --no-install"),
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="only these models and what they force (default: all)")
    p.add_argument(
        "--latest", action="store_true", help="also widen constraints in kmodels.yaml to admit the newest version"
    )
    p.add_argument("--dry-run", action="store_true", help="show the plan and change nothing")
    p.add_argument("--no-install", action="store_true", help="write kmodels.yaml and kmodels.lock, do not install")
    add_link_mode(p)
    add_refresh(p)
    add_connections(p)
    add_json(p)
    p.set_defaults(run=run)


def _signed(n: int) -> str:
    from kmenv.values.candidates import format_size

    return ("+" if n >= 0 else "-") + format_size(abs(n))


def render_plan(ui: UI, plan: UpgradePlan) -> None:
    from kmenv.cli.commands.lock import change_text
    from kmenv.values.candidates import format_size

    for edit in plan.edits:
        ui.line(
            f"  kmodels.yaml models.{edit.name}: {edit.old or '(any)'!s} → {edit.new or '(any)'} (admits {edit.latest})"
        )
    for move in plan.moves:
        licence = f"  licence {move.old_licence} → {move.new_licence}" if move.licence_changed else ""
        ui.line(f"  {move.name}: {change_text(move.old, move.new)}  ({_signed(move.size_delta)}){licence}")
    if plan.lock_changed and not plan.moves and not plan.edits:
        ui.line("  no version moves; kmodels.lock records the current inputs anew")
    if plan.moves:
        # a dry run downloads nothing to learn a Kaggle file's sha256, so it cannot tell which the store holds
        bound = "at most " if plan.unhashed else ""
        ui.line(f"Download {bound}{format_size(plan.download)}; installed size {_signed(plan.size_delta)}")


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.upgrade import apply_upgrade, plan_upgrade
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.progress import CliReporter

    project = open_project(args, ui)
    planning = CliReporter(ui)  # planning learns the new versions' Kaggle sha256s, which downloads them
    try:
        plan = plan_upgrade(
            project, args.names, latest=args.latest, dry_run=args.dry_run, progress=planning.downloads()
        )
    finally:
        planning.close()
    for warning in plan.warnings:
        ui.warn(warning)
    if not args.json:
        render_plan(ui, plan)
    if not plan.changes_anything:
        if args.json:
            ui.emit_json("upgrade", {**plan.as_dict(), "applied": False, "generation": None})
        else:
            ui.line("Nothing to upgrade: every model is at the newest version its constraints allow.")
        return 0
    if args.dry_run:
        if args.json:
            ui.emit_json("upgrade", {**plan.as_dict(), "applied": False, "generation": None})
        else:
            if plan.unhashed:
                ui.line(
                    f"  ({counted(plan.unhashed, 'new file')} not hashed: a dry run reads listings, not file contents)"
                )
            ui.line("Dry run: nothing was changed.")
        return 0
    reporter = CliReporter(ui)
    try:
        outcome = apply_upgrade(project, plan, install=not args.no_install, reporter=reporter)
    finally:
        reporter.close()
    generation = outcome.generation if outcome is not None else None
    if args.json:
        ui.emit_json("upgrade", {**plan.as_dict(), "applied": True, "generation": generation})
    elif outcome is None:
        ui.line("Upgraded kmodels.lock; run `kmenv install` to install it")
    else:
        ui.line(
            f"Upgraded {project.env_path} to generation {generation} (`kmenv rollback` returns to the previous one)"
        )
        if outcome.cleanup is not None and outcome.cleanup.summary:
            ui.line(outcome.cleanup.summary)
    return 0
