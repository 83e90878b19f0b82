"""``kmenv doctor``: versions, paths, credentials (by source), the API, link modes and free space, checked."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI

#: The exit code when a check failed (warnings alone exit 0).
EXIT_DOCTOR_FAILED = 8


_MARK = {"ok": "ok", "warn": "warning", "fail": "FAILED", "skipped": "skipped"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor",
        help="check this machine: versions, paths, credentials, the Kaggle API, link modes, free space",
        description="Check what kmenv needs, for real: the cache is written to, link modes are tried on it, the "
        "Kaggle API is asked who you are. Credentials are named by where they come from, never shown. "
        f"Exit {EXIT_DOCTOR_FAILED} when a check failed, 0 otherwise (warnings included).",
        **examples(
            "kmenv doctor                          # everything, a line per check",
            "kmenv doctor --offline                # skip the Kaggle API round trip",
            "kmenv doctor --json | jq '.checks[] | select(.status != \"ok\")'",
        ),
    )
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from pathlib import Path

    from kmenv.actions.doctor import diagnose
    from kmenv.cli.commands._common import settings
    from kmenv.environment.fastpath import locate_project

    root = locate_project(args.project, explicit=args.project is not None)
    report = diagnose(settings(args), None if root is None else Path(root))
    code = 0 if report.healthy else EXIT_DOCTOR_FAILED
    if args.json:
        ui.emit_json("doctor", report.as_dict())
        return code
    for key, value in report.facts.items():
        ui.line(f"{key + ':':<13}{value}")
    for key, path in report.paths.items():
        ui.line(f"{key + ':':<13}{path if path is not None else '(none: not in a project)'}")
    ui.line()
    for check in report.checks:
        ui.line(f"{_MARK[check.status]:<9}{check.name}: {check.detail}")
    if not report.healthy:
        ui.line()
        ui.line("some checks failed; see the lines marked FAILED")
    return code
