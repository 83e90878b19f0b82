"""``kmenv compare HANDLE…``: versions side by side with a column per published metric (no project needed)."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, add_refresh, examples
from kmenv.cli.commands._discovery import add_registry, sources
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare",
        help="compare model versions side by side, a column per metric",
        **examples(
            "kmenv compare kmenv-examples/tiny-bert/transformers/base/2 kmenv-examples/tiny-bert/transformers/base/3",
            "kmenv compare HANDLE/1 HANDLE/2 --metric accuracy --json",
        ),
    )
    p.add_argument(
        "handles",
        nargs="+",
        metavar="HANDLE",
        help="owner/model/framework/variation[/version] (newest without one), or owner/model (every instance)",
    )
    p.add_argument("--metric", metavar="M", help="only this metric (its name, or metric@dataset)")
    add_registry(p)
    add_refresh(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.discovery import compare_models
    from kmenv.values.candidates import format_size

    result = compare_models(sources(args, ui), args.handles, metric=args.metric)
    if args.json:
        ui.emit_json("compare", result.as_dict())
        return 0
    rows = []
    for v in result.versions:
        cells = []
        for column in result.columns:
            m = v.value(column)
            cells.append("-" if m is None else f"{m.value:g}")
        size = "-" if v.size is None else format_size(v.size)
        rows.append([str(v.handle), v.license or "-", size, *cells])
    headers = ["version", "license", "size", *result.columns]
    ui.table(headers, rows, right=["size", *result.columns])
    for note in result.notes:
        ui.line(note)
    return 0
