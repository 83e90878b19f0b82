"""``kmenv check``: judge the locked models' licences against the policy and report every finding (exit 4)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kmenv.cli.ui import UI

FORMATS = ("text", "json", "sarif", "github", "junit", "markdown")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="check the locked models' licences against the policy (exit 4 on a violation)")
    p.add_argument("--format", choices=FORMATS, default=None, help="report format (default: text)")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--warn-only", action="store_true", help="report violations but exit 0")
    p.add_argument(
        "--previous",
        metavar="FILE",
        help="a previous kmodels.lock to report licence changes against (default: git HEAD:kmodels.lock)",
    )
    p.add_argument("--no-git", action="store_true", help="do not compare with the lock committed at git HEAD")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    import os

    from kmenv.actions.check import check_project
    from kmenv.cli.commands._common import open_project
    from kmenv.errors import PolicyViolation
    from kmenv.policy.report import render
    from kmenv.policy.report.text import summary_line

    fmt = "json" if args.json else (args.format or "text")
    project = open_project(args, ui)
    report = check_project(
        project, previous=Path(args.previous) if args.previous else None, compare_git=not args.no_git
    )
    text = render(report, fmt)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        ui.note(f"wrote the {fmt} report to {args.output}")
        ui.line(summary_line(report))
    elif fmt == "json":
        import sys

        sys.stdout.write(text)
    else:
        ui.line(text.rstrip("\n"))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if fmt == "github" and summary_file:
        with open(summary_file, "a", encoding="utf-8") as fh:
            fh.write(render(report, "markdown"))
    if report.passed:
        return 0
    if args.warn_only:
        ui.warn(f"licence policy violated ({report.errors} errors); --warn-only keeps the exit code 0")
        return 0
    raise PolicyViolation(
        f"licence policy violated ({report.errors} error{'s' if report.errors != 1 else ''})",
        hint="fix each finding above (allow the licence or its category, or add an exception with a reason); "
        "--warn-only reports without failing",
    )
