"""``kmenv show``: a model's card and instances, or one instance's details, from any registry (no project needed)."""

from __future__ import annotations

import argparse
from typing import Any

from kmenv.cli.commands._common import add_json, add_refresh
from kmenv.cli.commands._discovery import add_registry, sources
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("show", help="show a model's card and instances, or one instance's usage, metrics, requirements")
    p.add_argument(
        "handle", help="owner/model (the card and every instance), or owner/model/framework/variation[/version]"
    )
    add_registry(p)
    add_refresh(p)
    add_json(p)
    p.set_defaults(run=run)


def _metric(m: dict[str, Any]) -> str:
    source = f"  ({m['source']})" if m["source"] else ""
    return f"  {m['metric']} on {m['dataset']}: {m['value']:g}{source}"


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.discovery import show_model
    from kmenv.values.candidates import format_size

    card = show_model(sources(args, ui), args.handle)
    data = card.as_dict()
    if args.json:
        ui.emit_json(data)
        return 0
    ui.line(f"{data['title']} ({data['handle']})")
    if data["subtitle"]:
        ui.line(data["subtitle"])
    ui.line(f"registry: {data['registry']}    owner: {data['owner']}")
    if data["votes"] is not None or data["tags"]:
        ui.line(
            f"votes: {data['votes'] if data['votes'] is not None else '-'}    tags: {', '.join(data['tags']) or '-'}"
        )
    if data["url"]:
        ui.line(f"url: {data['url']}")
    if data["chosen"] is None and data["description"]:
        ui.line("")
        for line in data["description"].strip().splitlines():
            ui.line(f"  {line}")
    ui.line("")
    rows = [
        [
            i["handle"],
            i["license"] or "-",
            {True: "yes", False: "no", None: "-"}[i["fine_tunable"]],
            i["base"] or "-",
            str(i["latest_version"]),
            format_size(i["size"]) if i["size"] else "-",
        ]
        for i in data["instances"]
    ]
    ui.table(["instance", "license", "fine-tunable", "base model", "latest", "size"], rows, right=["latest", "size"])
    if data["chosen"] is None:
        if data["metrics_note"]:
            ui.line(data["metrics_note"])
        if rows:
            ui.note("`kmenv show` with one of these instances shows its usage, requirements and metrics")
        return 0
    ui.line("")
    ui.line(f"{data['chosen']['handle']}:")
    ui.line(f"license: {data['license'] or '-'}")
    if data["overview"]:
        ui.line(f"overview: {data['overview']}")
    requires = ", ".join(f"{k}{v}" for k, v in data["requires"].items())
    ui.line(f"requires: {requires or 'nothing beyond its files'}")
    if data["training_data"]:
        ui.line("training data:")
        for item in data["training_data"]:
            ui.line(f"  - {item}")
    if data["metrics"]:
        ui.line("metrics:")
        for m in data["metrics"]:
            ui.line(_metric(m))
    elif data["metrics_note"]:
        ui.line(data["metrics_note"])
    else:
        ui.line("metrics: none published for this version")
    if data["metrics_text"]:
        ui.line(f"metrics as the owner describes them: {data['metrics_text']}")
    if data["usage"]:
        ui.line("usage:")
        for line in data["usage"].splitlines():
            ui.line(f"  {line}")
    return 0
