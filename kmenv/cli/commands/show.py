"""``kmenv show``: a model's card and instances, or one instance's details, from any registry (no project needed)."""

from __future__ import annotations

import argparse
from typing import Any

from kmenv.cli.commands._common import add_json, add_refresh, examples
from kmenv.cli.commands._discovery import add_registry, sources
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "show",
        **examples("kmenv show google/gemma", "kmenv show keras/bert/keras/bert_tiny_en_uncased/2"),
        help="show a model's card and instances, or one instance's usage, metrics, requirements",
    )
    p.add_argument(
        "handle",
        help="owner/model (the card and every instance), or owner/model/framework/variation[/version]; "
        "a Kaggle model URL or kaggle://... works too",
    )
    add_registry(p)
    add_refresh(p)
    add_json(p)
    p.set_defaults(run=run)


def _metric(m: dict[str, Any]) -> str:
    source = f"  ({m['source']})" if m["source"] else ""
    return f"  {m['metric']} on {m['dataset']}: {m['value']:g}{source}"


def _access_line(data: dict[str, Any]) -> str:
    """The access status with what to do about it: where to accept the licence, or to sign in first."""
    page = data["links"].get("instance") or data["url"] or "the model's page"
    access = str(data["access"])
    if access == "gated: not accepted":
        return f"{access} (accept the licence at {page} with this account)"
    if access == "gated: sign in to accept":
        return f"gated (no credentials: run `kmenv login`, then accept the licence at {page})"
    return access


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.discovery import show_model
    from kmenv.values.candidates import format_size

    card = show_model(sources(args, ui), args.handle)
    data = card.as_dict()
    if args.json:
        ui.emit_json("show", data)
        return 0
    ui.line(f"{data['title']} ({data['handle']})")
    if data["subtitle"]:
        ui.line(data["subtitle"])
    ui.line(f"registry: {data['registry']}    owner: {data['owner']}")
    if data["votes"] is not None or data["tags"]:
        ui.line(
            f"votes: {data['votes'] if data['votes'] is not None else '-'}    tags: {', '.join(data['tags']) or '-'}"
        )
    for kind, url in data["links"].items():
        ui.line(f"{kind} page: {url}")
    if data["description"]:
        ui.line("")
        for line in data["description"].strip().splitlines():
            ui.line(f"  {line}")
    ui.line("")
    gated = any(i["gated"] is not None for i in data["instances"])  # a registry that never says: no column
    rows = [
        [
            i["handle"],
            i["license"] or "-",
            *([i["access"]] if gated else []),
            {True: "yes", False: "no", None: "-"}[i["fine_tunable"]],
            i["base"] or "-",
            str(i["latest_version"]),
            format_size(i["size"]) if i["size"] else "-",
        ]
        for i in data["instances"]
    ]
    headers = ["instance", "license", *(["access"] if gated else []), "fine-tunable", "base model", "latest", "size"]
    ui.table(headers, rows, right=["latest", "size"])
    if data["chosen"] is None:
        if data["metrics_note"]:
            ui.line(data["metrics_note"])
        if rows:
            ui.note("`kmenv show` with one of these instances shows its usage, requirements and metrics")
        return 0
    ui.line("")
    ui.line(f"{data['chosen']['handle']}:")
    ui.line(f"license: {data['license'] or '-'}")
    if data["access"] not in (None, "-"):
        ui.line(f"access: {_access_line(data)}")
    if data["version_notes"]:
        ui.line(f"version notes: {data['version_notes']}")
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
