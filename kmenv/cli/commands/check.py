"""``kmenv check``: judge the locked models' licences against the policy and report every finding (exit 4)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kmenv.cli.commands._common import examples
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

FORMATS = ("text", "json", "sarif", "github", "junit", "markdown")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="check the locked models' licences against the policy (exit 4 on a violation)",
        **examples(
            "kmenv check", "kmenv check --format sarif --output kmenv.sarif", "kmenv check --warn-only --format github"
        ),
    )
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
    from kmenv.actions.check import add_step_summary, check_project, violation
    from kmenv.cli.commands._common import open_project
    from kmenv.compliance.report import render
    from kmenv.compliance.report.text import summary_line

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
        ui.emit_text(text)
    else:
        ui.line(text.rstrip("\n"))
    if fmt == "github":
        add_step_summary(report)
    if report.passed:
        return 0
    if args.warn_only:
        ui.warn(f"licence policy violated ({counted(report.errors, 'error')}); --warn-only keeps the exit code 0")
        return 0
    raise violation(report)
