"""GitHub Actions workflow commands: one annotation per finding, shown on the run and on the pull request's diff."""

from __future__ import annotations

from kmenv.compliance.check import CheckReport
from kmenv.compliance.report.text import summary_line

__all__ = ["render"]

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: CheckReport) -> str:
    lines: list[str] = []
    for f in report.findings:
        props = [f"file={_property(report.spec_file)}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        if f.column is not None:
            props.append(f"col={f.column}")
        props.append(f"title={_property(f'kmenv {f.kind}')}")
        message = f.message + (f"\nhint: {f.hint}" if f.hint else "")
        lines.append(f"::{_COMMAND[f.severity]} {','.join(props)}::{_data(message)}")
    lines.append(summary_line(report))
    return "\n".join(lines)
