"""``kmenv cache info|list|verify|prune|clean|export|warm``: inspect, check, empty and share the store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_dry_run, add_json, examples
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.cache import CacheInfo
    from kmenv.store.gc_plan import CacheSnapshot


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cache",
        help="inspect, prune or empty the store",
        **examples("kmenv cache info", "kmenv cache prune --dry-run", "kmenv cache export /mnt/team-cache"),
    )
    actions = p.add_subparsers(dest="cache_command", metavar="ACTION")
    actions.required = True
    info = actions.add_parser("info", help="where the cache is, what it holds, how much is free")
    add_json(info)
    info.set_defaults(run=run_info)
    listing = actions.add_parser("list", help="every blob with its size and the environments using it")
    add_json(listing)
    listing.set_defaults(run=run_list)
    verify = actions.add_parser("verify", help="hash every blob again; exit 6 when one is damaged")
    fix = verify.add_mutually_exclusive_group()
    fix.add_argument("--remove", action="store_const", const="remove", dest="fix", help="delete damaged blobs")
    fix.add_argument(
        "--quarantine", action="store_const", const="quarantine", dest="fix", help="move damaged blobs to quarantine/"
    )
    add_json(verify)
    verify.set_defaults(run=run_verify, fix=None)
    prune = actions.add_parser("prune", help="delete unreferenced blobs, stale partials and old metadata")
    add_dry_run(prune)
    add_json(prune)
    prune.set_defaults(run=run_prune)
    clean = actions.add_parser("clean", help="empty the store (environments keep working)")
    add_dry_run(clean)
    add_json(clean)
    clean.set_defaults(run=run_clean)
    export = actions.add_parser("export", help="copy the blobs of this project's lock into a shared cache folder")
    export.add_argument("dir", type=Path, metavar="DIR", help="the folder (store layout) to fill; created if needed")
    add_dry_run(export)
    add_json(export)
    export.set_defaults(run=run_export)
    warm = actions.add_parser("warm", help="`cache export` into KMENV_SHARED_CACHE")
    add_dry_run(warm)
    add_json(warm)
    warm.set_defaults(run=run_export, dir=None)


def _snapshot(args: argparse.Namespace, ui: UI) -> CacheSnapshot:
    from kmenv.actions.gc import scan
    from kmenv.cli.commands._common import runtime

    run = runtime(args, ui)
    return scan(run.store, run.ledger)


def run_info(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.cache import cache_info
    from kmenv.values.candidates import format_size

    info = cache_info(_snapshot(args, ui))
    if args.json:
        ui.emit_json("cache-info", info.to_dict())
        return 0
    ui.line(f"cache: {info.cache}")
    ui.line(f"  blobs:        {info.blobs} ({format_size(info.blob_bytes)})")
    ui.line(f"  unreferenced: {info.unreferenced_blobs} ({format_size(info.unreferenced_bytes)})")
    if info.held_back:
        ui.line(f"    `cache prune` deletes {info.prunable_blobs} ({format_size(info.prunable_bytes)}) and keeps:")
        for reason, held in info.held_back.items():
            ui.line(f"    {held['count']} ({format_size(held['bytes'])}) {_held_because(reason, info)}")
    ui.line(f"  partial:      {info.partials} ({format_size(info.partial_bytes)})")
    ui.line(f"  metadata:     {info.metadata} ({format_size(info.metadata_bytes)})")
    ui.line(f"  md5 index:    {counted(info.index_entries, 'entry')}")
    gone = f", {info.missing_environments} gone" if info.missing_environments else ""
    ui.line(f"  environments: {info.environments}{gone}")
    ui.line(f"  free space:   {format_size(info.free_bytes)}")
    return 0


def _held_because(reason: str, info: CacheInfo) -> str:
    from kmenv.store.gc_plan import GRACE

    if reason == GRACE:
        hours = info.grace_seconds / 3600
        span = f"{hours:g} hour{'' if hours == 1 else 's'}" if hours >= 1 else f"{info.grace_seconds:g} s"
        return f"changed within the last {span} (grace period: an install may be about to use them)"
    roots = ", ".join(info.unreadable_roots)
    return f"while a root cannot be read ({roots}; delete it if it is garbage)"


def run_list(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.cache import list_blobs
    from kmenv.cli.commands._common import runtime
    from kmenv.values.candidates import format_size

    blobs = list_blobs(_snapshot(args, ui))
    if args.json:
        listed = [{"sha256": b.sha256, "bytes": b.size, "used_by": list(b.used_by)} for b in blobs]
        ui.emit_json("cache-list", {"cache": str(runtime(args, ui).store.root), "blobs": listed})
        return 0
    rows = [[b.sha256[:16], format_size(b.size), b.used_by[0] if b.used_by else "(unreferenced)"] for b in blobs]
    for blob, row in zip(blobs, rows, strict=True):
        if len(blob.used_by) > 1:
            row[2] += f" and {len(blob.used_by) - 1} more"
    ui.table(["sha256", "size", "used by"], rows, right=["size"])
    return 0


def run_verify(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.cache import verify_cache
    from kmenv.cli.commands._common import runtime
    from kmenv.cli.progress import CliReporter
    from kmenv.errors import EXIT_INTEGRITY
    from kmenv.values.candidates import format_size

    run = runtime(args, ui)
    reporter = CliReporter(ui)
    try:
        report = verify_cache(run.store, workers=run.settings.max_workers, progress=reporter.downloads(), fix=args.fix)
    finally:
        reporter.close()
    if args.json:
        ui.emit_json("cache-verify", report.to_dict())
        return 0 if report.ok else EXIT_INTEGRITY
    if report.ok:
        ui.line(f"{report.cache}: {report.blobs} blobs, {format_size(report.bytes)}, all intact")
        return 0
    ui.line(f"{report.cache}: {report.blobs} blobs, {format_size(report.bytes)}, {len(report.damaged)} damaged")
    for blob in report.damaged:
        where = f" → {blob.moved_to}" if blob.moved_to else ""
        ui.line(f"  {blob.action}: {blob.sha256} ({format_size(blob.size)}, now hashes to {blob.actual[:16]}…){where}")
        for user in blob.used_by:
            ui.line(f"    linked by {user}")
    if args.fix is None:
        ui.warn("run `kmenv cache verify --remove` (or --quarantine) so installs fetch them again")
    ui.warn("environments linking a damaged blob hold the damage too: run `kmenv validate --repair` in each")
    return EXIT_INTEGRITY


def run_prune(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.cache import PRUNE
    from kmenv.cli.commands.gc import run_plan

    return run_plan(args, ui, PRUNE)


def run_clean(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.cache import clean_cache, plan_clean
    from kmenv.cli.commands._common import runtime
    from kmenv.values.candidates import format_size

    cache = runtime(args, ui).store.root
    plan = plan_clean(cache)
    total = sum(size for _, size in plan)
    freed = None if args.dry_run else clean_cache(cache)
    if args.json:
        folders = [{"path": str(p), "bytes": size} for p, size in plan]
        document = {"cache": str(cache), "dry_run": args.dry_run, "folders": folders, "freed_bytes": freed}
        ui.emit_json("cache-clean", document)
        return 0
    verb = "Would delete" if args.dry_run else "Deleted"
    ui.line(f"{verb} {format_size(total)} from {cache}")
    for path, size in plan:
        ui.line(f"  {path.name + '/':<10} {format_size(size):>10}")
    return 0


def run_export(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.cache_export import export_cache
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.progress import CliReporter
    from kmenv.errors import UsageError
    from kmenv.values.candidates import format_size

    project = open_project(args, ui)
    target = args.dir if args.dir is not None else project.settings.shared_cache
    if target is None:
        raise UsageError(
            "KMENV_SHARED_CACHE is not set", hint="set it to the shared folder, or use `kmenv cache export DIR`"
        )
    reporter = CliReporter(ui)
    try:
        done = export_cache(project, target, dry_run=args.dry_run, progress=reporter.downloads())
    finally:
        reporter.close()
    if args.json:
        ui.emit_json("cache-export", done.to_dict())
        return 0
    if done.downloaded:
        verb = "would download" if done.dry_run else "downloaded"
        ui.line(f"{verb} {counted(done.downloaded, 'file')} ({format_size(done.downloaded_bytes)}) the cache lacked")
    verb = "Would copy" if done.dry_run else "Copied"
    ui.line(
        f"{verb} {counted(done.copied, 'blob')} ({format_size(done.copied_bytes)}) into {done.target}; "
        f"the lock names {counted(done.blobs, 'blob')} ({format_size(done.bytes)})"
    )
    return 0
