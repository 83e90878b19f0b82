"""The human report: one line per model, then every finding with its place and hint."""

from __future__ import annotations

from kmenv.compliance.check import CheckReport, Finding
from kmenv.values.wording import counted

__all__ = ["render", "summary_line"]

_MARK = {"allowed": "ok", "excepted": "exception", "warned": "warning", "denied": "DENIED"}


def summary_line(report: CheckReport) -> str:
    """``3 models checked: 1 error, 1 warning`` (the last line of every text report)."""
    count = len(report.models)
    errors, warnings = report.errors, report.warnings
    parts = [counted(errors, "error"), counted(warnings, "warning")]
    verdict = "licence policy satisfied" if report.passed else "licence policy violated"
    return f"{counted(count, 'model')} checked: {', '.join(parts)} ({verdict})"


def place(report: CheckReport, finding: Finding) -> str:
    if finding.line is None:
        return report.spec_file
    return f"{report.spec_file}:{finding.line}"


def render(report: CheckReport) -> str:
    lines: list[str] = []
    width = max((len(f"{m.name} {m.version}") for m in report.models), default=0)
    for m in report.models:
        licence = m.expression or m.published or "none published"
        base = f"  (with base: {m.effective})" if m.bases else ""
        lines.append(f"{_MARK[m.outcome]:<9} {f'{m.name} {m.version}':<{width}}  {licence} [{m.category}]{base}")
    if report.findings:
        lines.append("")
    for f in report.findings:
        lines.append(f"{place(report, f)}: {f.severity}: [{f.kind}] {f.message}")
        if f.hint:
            lines.append(f"  hint: {f.hint}")
    if report.previous:
        lines.append(f"(licence changes compared with {report.previous})")
    lines.append(summary_line(report))
    return "\n".join(lines)
