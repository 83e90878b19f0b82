"""``kmenv show``: a model's card on Kaggle (no project needed)."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, add_refresh
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("show", help="show a Kaggle model's card: instances, licences, usage")
    p.add_argument("handle", help="owner/model, or owner/model/framework/variation[/version] to pick the usage shown")
    add_refresh(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.discovery import show_model
    from kmenv.cli.commands._common import runtime
    from kmenv.values.candidates import format_size

    card = show_model(runtime(args, ui).kaggle(refresh=args.refresh), args.handle)
    data = card.as_dict()
    if args.json:
        ui.emit_json(data)
        return 0
    ui.line(f"{data['title']} ({data['handle']})")
    if data["subtitle"]:
        ui.line(data["subtitle"])
    ui.line(f"owner: {data['owner']}    votes: {data['votes'] if data['votes'] is not None else '-'}")
    ui.line(f"tags: {', '.join(data['tags']) or '-'}")
    ui.line(f"url: {data['url']}")
    ui.line("")
    rows = [
        [
            i["handle"],
            i["license"] or "-",
            "yes" if i["fine_tunable"] else "no",
            i["base"] or "-",
            str(i["latest_version"]),
            format_size(i["size"]) if i["size"] else "-",
        ]
        for i in data["instances"]
    ]
    ui.table(["instance", "license", "fine-tunable", "base model", "latest", "size"], rows, right=["latest", "size"])
    ui.line("")
    ui.line(f"for {data['chosen']['handle']}:")
    if data["training_data"]:
        ui.line("training data:")
        for item in data["training_data"]:
            ui.line(f"  - {item}")
    if data["metrics"]:
        ui.line(f"metrics: {data['metrics']}")
    if data["usage"]:
        ui.line("usage:")
        for line in data["usage"].splitlines():
            ui.line(f"  {line}")
    return 0
