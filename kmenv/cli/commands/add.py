"""``kmenv add``: declare a model in kmodels.yaml (comments kept), then re-lock."""

from __future__ import annotations

import argparse

from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("add", help="add a model to kmodels.yaml and update the lock")
    p.add_argument("handle", metavar="HANDLE[@SPEC]", help="e.g. google/gemma/transformers/2b-it@>=2")
    p.add_argument("--name", help="the project's name for it (default: derived from the handle)")
    p.add_argument("--no-lock", action="store_true", help="only edit kmodels.yaml")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.lock import lock_project
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.commands.lock import report_lock
    from kmenv.spec.edit import add_model, default_name
    from kmenv.values.handles import Handle

    project = open_project(args)
    handle = Handle.parse(args.handle.split("@", 1)[0])
    name = args.name or default_name(handle)
    original = project.spec_path.read_text(encoding="utf-8")
    project.write_spec(add_model(original, name, args.handle, filename=str(project.spec_path)))
    project.reload()
    if args.no_lock:
        ui.line(f"Added {name}: {args.handle}")
        return 0
    try:
        outcome = lock_project(project)
    except BaseException:
        project.write_spec(original)  # a model that cannot be locked is not left half-added
        ui.note(f"{name} was not added: kmodels.yaml is as it was")
        raise
    ui.line(f"Added {name}: {args.handle}")
    report_lock(ui, outcome)
    return 0
