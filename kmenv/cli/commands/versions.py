"""``kmenv versions``: a Kaggle model instance's versions, or what changed between two (no project needed)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_json, add_refresh
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.discovery import VersionDiff


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("versions", help="list a Kaggle model instance's versions, or diff two")
    p.add_argument("handle", help="owner/model/framework/variation")
    p.add_argument("--diff", nargs=2, type=int, metavar=("A", "B"), help="files and licence changed from A to B")
    add_refresh(p)
    add_json(p)
    p.set_defaults(run=run)


def _licence(text: str | None, observed: bool) -> str:
    shown = text or "-"
    return shown if observed else f"{shown} (current; not published per version)"


def _unchanged_line(diff: VersionDiff) -> str:
    """How many common files are unchanged, and by what: a digest proves it, an equal size only suggests it."""
    count = len(diff.same)
    by = {how: sum(1 for f in diff.same if f.compared == how) for how in ("sha256", "md5", "size")}
    if not count:
        return "  0 files unchanged"
    if by["size"] == count:
        files = counted(count, "file")
        return f"  {files} unchanged in size (no digest known on this machine: only sizes could be compared)"
    parts = [f"{by[how]} by {how}" for how in ("sha256", "md5") if by[how]]
    if by["size"]:
        parts.append(f"{by['size']} in size only (no digest known on this machine)")
    return f"  {counted(count, 'file')} unchanged ({', '.join(parts)})"


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.discovery import diff_versions, list_versions
    from kmenv.cli.commands._common import runtime
    from kmenv.values.candidates import format_size

    registry = runtime(args, ui).kaggle(refresh=args.refresh)
    if args.diff:
        diff = diff_versions(registry, args.handle, args.diff[0], args.diff[1])
        if args.json:
            ui.emit_json(diff.as_dict())
            return 0
        ui.line(f"{diff.handle}: version {diff.a.version} → {diff.b.version}")
        for f in diff.added:
            ui.line(f"  + {f.path} ({format_size(f.size)})")
        for f in diff.removed:
            ui.line(f"  - {f.path} ({format_size(f.size)})")
        for c in diff.changed:
            if c.size_a != c.size_b:
                ui.line(f"  ~ {c.path} ({format_size(c.size_a)} → {format_size(c.size_b)})")
            else:
                ui.line(f"  ~ {c.path} ({format_size(c.size_b)}, same size, {c.compared} differs)")
        ui.line(_unchanged_line(diff))
        if diff.licence_changed is None:
            ui.line(f"  license: {diff.a.license or '-'} (Kaggle publishes only the current licence; no change seen)")
        elif diff.licence_changed:
            ui.line(
                f"  license: {_licence(diff.a.license, diff.a.observed)} → {_licence(diff.b.license, diff.b.observed)}"
            )
        else:
            ui.line(f"  license: {diff.b.license or '-'} (unchanged)")
        return 0
    rows = list_versions(registry, args.handle)
    if args.json:
        ui.emit_json({"handle": args.handle, "versions": [r.as_dict() for r in rows]})
        return 0
    ui.table(
        ["version", "files", "size", "license"],
        [
            [
                f"{r.version}{' (latest)' if r.latest else ''}",
                str(r.files),
                format_size(r.size),
                _licence(r.license, r.observed),
            ]
            for r in rows
        ],
        right=["files", "size"],
    )
    return 0
