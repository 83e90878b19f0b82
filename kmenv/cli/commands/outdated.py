"""``kmenv outdated``: locked version, newest compatible, newest published, and why they differ."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_json, add_refresh, examples
from kmenv.cli.ui import UI

if TYPE_CHECKING:
    from kmenv.actions.outdated import OutdatedReport

#: ``--exit-code`` when a model could move (upgradable or constrained): not 1, which means an unexpected failure.
EXIT_OUTDATED = 9


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "outdated",
        help="show locked models that have newer versions, and what holds them back",
        **examples(
            "kmenv outdated",
            "kmenv outdated --exit-code              # CI: fail when something is outdated",
            "kmenv outdated --all-projects --json",
        ),
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="only these models (default: every locked model)")
    p.add_argument(
        "--exit-code", action="store_true", help=f"exit {EXIT_OUTDATED} when a model is outdated (scheduled CI jobs)"
    )
    p.add_argument("--all-projects", action="store_true", help="every project the usage ledger knows")
    add_refresh(p)
    add_json(p)
    p.set_defaults(run=run)


def _version(value: int | None) -> str:
    return "-" if value is None else str(value)


def render(ui: UI, report: OutdatedReport) -> None:
    """The report as a table, then one line per reason and licence change."""
    if report.resolution_problem:
        ui.warn(f"no full resolution exists ({report.resolution_problem}); compatible versions are per model")
    ui.table(
        ["name", "current", "compatible", "latest", "status"],
        [
            [
                m.name if m.direct else f"{m.name} (base)",
                str(m.current),
                _version(m.compatible),
                _version(m.latest),
                m.status,
            ]
            for m in report.models
        ],
        right=("current", "compatible", "latest"),
    )
    for m in report.models:
        for reason in m.reasons:
            ui.line(f"  {m.name}: {reason}")
        if m.licence_change is not None:
            old, new = (x or "unknown" for x in m.licence_change)
            ui.line(f"  {m.name}: licence changes {old} → {new}")


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.outdated import outdated_everywhere, outdated_report
    from kmenv.cli.commands._common import open_project, runtime

    if args.all_projects:
        outcomes = outdated_everywhere(runtime(args, ui), args.names)
        if args.json:
            ui.emit_json("outdated-projects", {"projects": [o.as_dict() for o in outcomes]})
        else:
            if not outcomes:
                ui.line("The usage ledger knows no projects yet (they appear after a lock or install).")
            for outcome in outcomes:
                ui.line(f"{outcome.project}")
                if outcome.report is not None:
                    render(ui, outcome.report)
                elif outcome.skipped:
                    ui.line(f"  skipped: {outcome.skipped}")
                else:
                    ui.line(f"  failed: {outcome.error}")
        lagging = any(o.report is not None and o.report.outdated for o in outcomes)
    else:
        report = outdated_report(open_project(args, ui), args.names)
        if args.json:
            ui.emit_json("outdated", report.as_dict())
        else:
            render(ui, report)
        lagging = report.outdated
    return EXIT_OUTDATED if args.exit_code and lagging else 0
