"""``kmenv lock``: resolve kmodels.yaml into kmodels.lock."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_connections, add_json, examples
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.lock import LockOutcome


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "lock",
        help="resolve kmodels.yaml and write kmodels.lock",
        **examples(
            "kmenv lock",
            "kmenv lock --check                     # CI: exit 2 when kmodels.lock is stale",
            "kmenv lock --json",
        ),
    )
    p.add_argument("--check", action="store_true", help="exit 2 if the lock is missing or stale; write nothing")
    add_connections(p)
    add_json(p)
    p.set_defaults(run=run)


def change_text(old: int | None, new: int | None) -> str:
    if old is None:
        return f"+ {new}"
    if new is None:
        return f"- {old}"
    return f"{old} → {new}"


def report_lock(ui: UI, outcome: LockOutcome) -> None:
    for warning in outcome.warnings:
        ui.warn(warning)
    for name, old, new in outcome.changes:
        ui.line(f"  {name}: {change_text(old, new)}")
    for note in outcome.skipped:
        ui.line(f"  note: {note}")
    count = len(outcome.lock.models)
    state = "updated" if outcome.written else "unchanged"
    ui.line(f"Locked {counted(count, 'model')} (kmodels.lock {state})")


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.lock import check_lock, lock_project
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.progress import CliReporter

    project = open_project(args, ui)
    if args.check:
        check_lock(project.open())
        if args.json:
            ui.emit_json("lock-check", {"stale": False, "reasons": []})
        else:
            ui.line("kmodels.lock is up to date")
        return 0
    reporter = CliReporter(ui)  # learning Kaggle sha256s downloads the files: shown as install shows them
    try:
        outcome = lock_project(project, progress=reporter.downloads())
    finally:
        reporter.close()
    if args.json:
        ui.emit_json(
            "lock",
            {
                "written": outcome.written,
                "models": {n: m.version for n, m in outcome.lock.models.items()},
                "changes": [{"name": n, "old": o, "new": v} for n, o, v in outcome.changes],
                "warnings": list(outcome.warnings),
                "skipped": list(outcome.skipped),
            },
        )
    else:
        report_lock(ui, outcome)
    return 0
