"""``kmenv search``: find models in the project's registries, the one ``--registry`` names, or on Kaggle."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, add_refresh, examples
from kmenv.cli.commands._discovery import add_registry, sources
from kmenv.cli.ui import UI

SORT_CHOICES = ("hotness", "downloads", "votes", "notebooks", "created", "published", "updated")
#: The kaggle CLI's ``models list --sort-by`` spellings (kept in step with ``actions.discovery.search``).
CLI_SORTS = ("downloadCount", "voteCount", "notebookCount", "createTime")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "search",
        **examples("kmenv search gemma", "kmenv search bert --sort-by downloads --json"),
        help="search models (the project's registries, or Kaggle)",
    )
    p.add_argument(
        "query",
        nargs="?",
        default="",
        help="free text (the registry matches it; descriptions also match in Kaggle answers already cached)",
    )
    p.add_argument("--owner", help="only models of this user or organisation")
    p.add_argument("--framework", help="only models with an instance in this framework (e.g. pyTorch, keras)")
    p.add_argument("--license", dest="licence", metavar="LICENSE", help="only models with this licence (name or SPDX)")
    p.add_argument("--tag", help="only models with this tag")
    p.add_argument(
        "--sort",
        "--sort-by",
        choices=(*SORT_CHOICES, *CLI_SORTS),
        default="hotness",
        metavar="ORDER",
        help=f"{', '.join(SORT_CHOICES)} (default: hotness); the kaggle CLI's {', '.join(CLI_SORTS)} work too",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--limit", type=int, default=20, metavar="N", help="at most N models (default 20)")
    group.add_argument("--all", action="store_true", help="every matching model (follows every page)")
    add_registry(p)
    add_refresh(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.discovery import search_models

    registries = sources(args, ui)
    result = search_models(
        registries,
        args.query,
        owner=args.owner,
        framework=args.framework,
        licence=args.licence,
        tag=args.tag,
        sort=args.sort,
        limit=None if args.all else args.limit,
    )
    if args.json:
        ui.emit_json("search", result.as_dict())
        return 0
    several = len(registries) > 1
    models = result.as_dict()["models"]
    votes = any(row["votes"] is not None for row in models)  # a static registry counts none: no empty column
    rows = [
        [
            *([row["registry"]] if several else []),
            row["handle"],
            row["title"],
            ", ".join(row["frameworks"]),
            ", ".join(row["licenses"]) or "-",
            *(["-" if row["votes"] is None else str(row["votes"])] if votes else []),
            (row["updated"] or "")[:10],
        ]
        for row in models
    ]
    if not rows:
        ui.line("No models found.")
        return 0
    headers = ["handle", "title", "frameworks", "license", *(["votes"] if votes else []), "updated"]
    ui.table(["registry", *headers] if several else headers, rows, right=["votes"])
    if result.more:
        ui.note(
            f"showing {len(rows)} of {result.total if result.total is not None else 'more'}; use --limit N or --all"
        )
    return 0
