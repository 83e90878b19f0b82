"""``kmenv add``: declare a model in kmodels.yaml (comments kept), then re-lock."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "add",
        help="add a model to kmodels.yaml and update the lock",
        **examples(
            "kmenv add google/gemma/transformers/2b-it",
            "kmenv add 'google/gemma/transformers/2b-it@>=2' --name gemma",
            "kmenv add keras/bert/keras/bert_tiny_en_uncased --no-lock",
        ),
    )
    p.add_argument(
        "handle",
        metavar="HANDLE[@SPEC]",
        help="e.g. google/gemma/transformers/2b-it@>=2 (a Kaggle model URL or kaggle://... works too)",
    )
    p.add_argument("--name", help="the project's name for it (default: derived from the handle)")
    p.add_argument("--no-lock", action="store_true", help="only edit kmodels.yaml")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.spec_change import add_model
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.commands.lock import report_lock
    from kmenv.values.handles import canonical_requirement

    requirement = canonical_requirement(args.handle)  # a Kaggle URL is written as owner/model/...
    change = add_model(
        open_project(args, ui),
        requirement,
        name=args.name,
        relock=not args.no_lock,
        on_restore=lambda name: ui.note(f"{name} was not added: kmodels.yaml is as it was"),
    )
    ui.line(f"Added {change.name}: {requirement}")
    if change.lock is not None:
        report_lock(ui, change.lock)
    return 0
