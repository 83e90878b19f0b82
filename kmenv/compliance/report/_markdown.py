"""Markdown for a pull-request comment or ``$GITHUB_STEP_SUMMARY``: a verdict, a table of models, the findings."""

from __future__ import annotations

from kmenv.compliance.check import CheckReport
from kmenv.compliance.report.text import summary_line

__all__ = ["render"]

_ICON = {"allowed": "✅ allowed", "excepted": "☑️ exception", "warned": "⚠️ warning", "denied": "❌ denied"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: CheckReport) -> str:
    lines = [
        "## kmenv licence check",
        "",
        f"**{summary_line(report)}**",
        "",
        "| model | version | licence | category | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in report.models:
        licence = m.expression or m.published or "none published"
        if m.bases:
            licence += f" (with base: {m.effective})"
        lines.append(f"| {_cell(m.name)} | {m.version} | {_cell(licence)} | {m.category} | {_ICON[m.outcome]} |")
    if report.findings:
        lines += ["", "### Findings", ""]
        for f in report.findings:
            where = f"`{report.spec_file}:{f.line}`" if f.line else f"`{report.spec_file}`"
            hint = f" — {_cell(f.hint)}" if f.hint else ""
            lines.append(f"- **{f.severity}** ({f.kind}) {where}: {_cell(f.message)}{hint}")
    return "\n".join(lines)
