"""``kmenv gc``: delete old generations, unreferenced blobs, stale partial downloads and old metadata."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_dry_run, add_json, examples
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.store.gc_plan import GcOptions, GcPlan

_LABELS = {
    "generation": "old generations",
    "root": "records of deleted environments",
    "download": "records of deleted downloads",
    "index": "digest index entries",
    "blob": "unreferenced blobs",
    "partial": "stale partial downloads",
    "metadata": "old registry metadata",
}


def _keep(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "gc",
        help="free space: old generations, unreferenced blobs, stale partials, old metadata",
        **examples("kmenv gc --dry-run", "kmenv gc --keep 1 --unused-for 30d"),
    )
    p.add_argument(
        "--keep",
        type=_keep,
        metavar="N",
        help="generations kept per environment (default: KMENV_KEEP_GENERATIONS, else each project's "
        "cleanup.keep-generations, else 3)",
    )
    p.add_argument(
        "--unused-for",
        metavar="AGE",
        help="environments unused this long (30d, 12h, 2w) keep only their current generation and protect no blob",
    )
    add_dry_run(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.cli.commands._common import settings
    from kmenv.config import DEFAULT_KEEP_GENERATIONS
    from kmenv.store.gc_plan import GcOptions, parse_duration

    unused = parse_duration(args.unused_for) if args.unused_for else None
    run = settings(args)
    keep = args.keep or run.keep_generations
    options = GcOptions(
        keep=keep or DEFAULT_KEEP_GENERATIONS, unused_for=unused, recorded_keep=keep is None, cache_max=run.cache_max
    )
    return run_plan(args, ui, options)


def run_plan(args: argparse.Namespace, ui: UI, options: GcOptions) -> int:
    """Plan, show, and (unless ``--dry-run``) execute; shared with ``kmenv cache prune``."""
    from kmenv.actions.gc import collect_garbage, plan_collection
    from kmenv.cli.commands._common import runtime
    from kmenv.values.candidates import format_size

    run = runtime(args, ui)
    cache = run.store.root
    plan = plan_collection(run.store, run.ledger, options)
    for warning in plan.warnings:
        ui.warn(warning)
    if not args.json:
        show_plan(ui, plan, dry_run=args.dry_run)
    result = None if args.dry_run else collect_garbage(plan, run.store, run.ledger)
    if args.json:
        done: dict[str, object] = {"deleted": None, "freed_bytes": None, "skipped": []}
        if result is not None:
            done = {"deleted": result.deleted, "freed_bytes": result.freed, "skipped": list(result.skipped)}
        ui.emit_json("gc", {"cache": str(cache), "dry_run": args.dry_run, "plan": plan.to_dict(), **done})
        return 0
    if result is not None:
        for skipped in result.skipped:
            ui.note(f"  kept {skipped}")
        ui.line(f"Deleted {counted(result.deleted, 'item')}, freed {format_size(result.freed)}")
    return 0


def show_plan(ui: UI, plan: GcPlan, *, dry_run: bool) -> None:
    from kmenv.values.candidates import format_size

    if plan.budget is not None:
        budget, before, after = plan.budget
        state = (
            f", {format_size(after)} after this plan"
            if after != before
            else ", within the budget"
            if before <= budget
            else ", and nothing unused may go"
        )
        ui.line(f"Store budget {format_size(budget)} (KMENV_CACHE_MAX): blobs hold {format_size(before)}{state}")
    if not plan.deletions:
        ui.line("Nothing to delete.")
        return
    verb = "Would delete" if dry_run else "Deleting"
    ui.line(f"{verb} {counted(len(plan.deletions), 'item')}, {format_size(plan.total_bytes)}:")
    for kind, (count, size) in plan.by_kind().items():
        ui.line(f"  {count:>6} {_LABELS[kind]:<32} {format_size(size):>10}")
        for item in plan.deletions:
            if item.kind == kind and (kind in ("generation", "root", "download") or ui.verbose):
                ui.line(f"         {item.path}  ({item.reason})")
