"""``kmenv download``: fetch Kaggle model versions into a folder, verified, without a project."""

from __future__ import annotations

import argparse
from pathlib import Path

from kmenv.cli.commands._common import add_connections, add_json, add_refresh, examples
from kmenv.cli.ui import UI
from kmenv.values.wording import counted


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "download",
        help="download Kaggle model versions into a folder (no project needed)",
        description="Download model versions, verified through the store. With --path DIR the files land in DIR "
        "itself (as `kaggle models instances versions download -p` and `hf download --local-dir` do); without it, "
        "or with --nested, each version gets ./OWNER/MODEL/FRAMEWORK/VARIATION/VERSION/.",
        **examples(
            "kmenv download keras/bert/keras/bert_tiny_en_uncased/2 --path ./bert",
            "kmenv download keras/bert/keras/bert_tiny_en_uncased --file config.json --path ./bert",
            "kmenv download google/gemma/pyTorch/2b google/gemma/pyTorch/7b --nested --path ./models",
        ),
    )
    p.add_argument("handles", nargs="+", metavar="HANDLE", help="owner/model/framework/variation[/version]")
    p.add_argument(
        "--path", type=Path, default=None, metavar="DIR", help="write the files into DIR itself (one handle)"
    )
    p.add_argument(
        "--nested",
        action="store_true",
        help="under DIR (default: .), one OWNER/MODEL/FRAMEWORK/VARIATION/VERSION folder per handle",
    )
    p.add_argument("--file", dest="files", action="append", metavar="PATH", help="only this file (or glob); repeatable")
    add_refresh(p)
    add_connections(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.download import download_models
    from kmenv.cli.commands._common import runtime
    from kmenv.cli.progress import CliReporter
    from kmenv.values.candidates import format_size

    run = runtime(args, ui)
    registry = run.kaggle(refresh=args.refresh)
    reporter = CliReporter(ui)
    try:
        results = download_models(
            registry,
            args.handles,
            path=Path(".") if args.path is None else args.path,
            nested=args.nested or args.path is None,
            files=args.files,
            workers=run.settings.max_workers,
            on_start=lambda handle: ui.note(f"downloading {handle}…"),
            progress=reporter.downloads(),
        )
    finally:
        reporter.close()
    if args.json:
        ui.emit_json("download", {"downloads": [r.as_dict() for r in results]})
        return 0
    for r in results:
        size = sum(f.size for f in r.files)
        fetched = f", {counted(r.fetched, 'file')} fetched" if r.fetched else ", all from the cache"
        ui.line(f"{r.handle}: {counted(len(r.files), 'file')}, {format_size(size)}{fetched} → {r.path}")
    return 0
