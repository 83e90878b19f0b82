"""``kmenv versions``: an instance's versions with licence, requirements and one column per metric, or a diff."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_json, add_refresh, examples
from kmenv.cli.commands._discovery import add_registry, sources
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.discovery import VersionDiff
    from kmenv.registry.base import Registry


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "versions",
        **examples(
            "kmenv versions keras/bert/keras/bert_tiny_en_uncased",
            "kmenv versions keras/bert/keras/bert_tiny_en_uncased/2 --files",
            "kmenv versions keras/bert/keras/bert_tiny_en_uncased --diff 1 2",
        ),
        help="list a model instance's versions (licence, requirements, metrics), or diff two",
    )
    p.add_argument(
        "handle",
        help="owner/model/framework/variation (with /N: that version for --files); a Kaggle URL or kaggle://... too",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--diff", nargs=2, type=int, metavar=("A", "B"), help="files and licence changed from A to B")
    mode.add_argument(
        "--files", action="store_true", help="list the files (path, size) of the version named (default: the latest)"
    )
    add_registry(p)
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
    from kmenv.values.candidates import format_size

    registries = sources(args, ui)
    if args.files:
        return _files(registries, args.handle, args.json, ui)
    if args.diff:
        diff = diff_versions(registries, args.handle, args.diff[0], args.diff[1])
        if args.json:
            ui.emit_json("versions-diff", diff.as_dict())
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
            a, b = diff.a, diff.b
            ui.line(f"  license: {_licence(a.license, a.license_observed)} → {_licence(b.license, b.license_observed)}")
        else:
            ui.line(f"  license: {diff.b.license or '-'} (unchanged)")
        for label, before, after in _requirement_changes(dict(diff.a.requires), dict(diff.b.requires)):
            ui.line(f"  requires {label}: {before or '-'} → {after or '-'}")
        return 0
    listing = list_versions(registries, args.handle)
    if args.json:
        ui.emit_json("versions", listing.as_dict())
        return 0
    data = listing.as_dict()
    columns = data["metrics"]
    rows = []
    for r in listing.rows:
        values = {m.column: m for m in r.metrics}
        rows.append(
            [
                f"{r.version}{' (latest)' if r.latest else ''}",
                "-" if r.files is None else str(r.files),
                "-" if r.size is None else format_size(r.size),
                _licence(r.license, r.license_observed),
                ", ".join(f"{k}{v}" for k, v in r.requires.items()) or "-",
                *[f"{values[c].value:g}" if c in values else "-" for c in columns],
            ]
        )
    ui.table(["version", "files", "size", "license", "requires", *columns], rows, right=["files", "size", *columns])
    trained = [(r.version, r.training_data) for r in listing.rows if r.training_data]
    if trained and len(trained) == len(listing.rows) and len({items for _, items in trained}) == 1:
        ui.line(f"training data (every version): {', '.join(trained[0][1])}")
    elif trained:
        ui.line("training data:")
        for number, items in trained:
            ui.line(f"  {number}: {', '.join(items)}")
    if not columns:
        ui.line(listing.metrics_note or "metrics: none published for any version")
    return 0


def _files(registries: list[Registry], handle: str, as_json: bool, ui: UI) -> int:
    from kmenv.actions.discovery import list_version_files
    from kmenv.values.candidates import format_size

    listing = list_version_files(registries, handle)
    if as_json:
        ui.emit_json("versions-files", listing.as_dict())
        return 0
    rows = [[f.path, format_size(f.size), str(f.size)] for f in listing.files]
    ui.table(["path", "size", "bytes"], rows, right=["size", "bytes"])
    latest = " (latest)" if listing.latest else ""
    ui.line(f"{listing.handle}{latest}: {counted(len(rows), 'file')}, {format_size(listing.size)}")
    return 0


def _requirement_changes(a: dict[str, str], b: dict[str, str]) -> list[tuple[str, str, str]]:
    """Each library whose requirement differs between two versions: (library, before, after)."""
    return [(lib, a.get(lib, ""), b.get(lib, "")) for lib in sorted(a.keys() | b.keys()) if a.get(lib) != b.get(lib)]
