"""``kmenv mirror --to DIR``: copy the lock's model versions into a registry the team controls."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json
from kmenv.cli.ui import UI

_EXAMPLES = """examples:
  kmenv mirror --to /srv/models            # a static registry folder, servable by any web server
  kmenv mirror --to ./mirror --dry-run     # what would be copied, and how many bytes
  kmenv mirror --to ./mirror --all-versions --json
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mirror",
        help="copy every model version in kmodels.lock into a registry folder",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--to", required=True, metavar="DIR", help="the mirror: a static registry folder")
    p.add_argument("--name", help="the registry's own name, written into index.json (default: the folder's name)")
    p.add_argument(
        "--all-versions", action="store_true", help="every version of each locked instance, not only the locked one"
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be copied; fetch and write nothing")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from pathlib import Path

    from kmenv.actions.mirror import mirror_lock
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.progress import CliReporter
    from kmenv.errors import UsageError
    from kmenv.registry.static.mirror import FolderMirror
    from kmenv.values.candidates import format_size
    from kmenv.values.wording import counted

    if "://" in args.to and not args.to.startswith("file://"):
        raise UsageError(
            f"--to {args.to}: mirroring supports a folder (or file:// URL)",
            hint="give a folder path; serve it with any HTTP server and point `registries` at its URL",
        )
    folder = Path(args.to.removeprefix("file://")).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--to {folder}: exists and is not a folder", hint="name a folder (it is created if missing)")
    project = open_project(args, ui)
    target = FolderMirror(folder, args.name or folder.name)
    reporter = CliReporter(ui)
    try:
        outcome = mirror_lock(
            project, project.open(), target, all_versions=args.all_versions, dry_run=args.dry_run, reporter=reporter
        )
    finally:
        reporter.close()
    if args.json:
        ui.emit_json(outcome.as_dict())
        return 0
    versions = counted(len(outcome.versions), "model version")
    files = counted(outcome.files, "file")
    if outcome.dry_run:
        ui.line(f"Would mirror {versions} ({files}, {format_size(outcome.total_bytes)}) to {outcome.target}:")
        for handle, version in outcome.versions:
            ui.line(f"  {handle}/{version}")
        ui.line(
            f"  download {format_size(outcome.to_fetch)} the cache lacks; write {format_size(outcome.to_write)} "
            f"({outcome.blobs_present} of {files} already there)"
        )
        return 0
    ui.line(
        f"Mirrored {versions} ({files}, {format_size(outcome.total_bytes)}) to {outcome.target}: "
        f"{outcome.blobs_written} written ({format_size(outcome.bytes_written)} copied), "
        f"{outcome.blobs_present} already there"
    )
    return 0
