"""The JSON report: stable keys, a ``schema_version``, every model and every finding."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from kmenv.compliance.check import SCHEMA_VERSION, CheckReport

__all__ = ["as_data", "render"]


def as_data(report: CheckReport) -> dict[str, Any]:
    """The report as plain data (the JSON document, before encoding)."""
    from kmenv._version import __version__

    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "kmenv", "version": __version__, "license_table": report.table_version},
        "spec_file": report.spec_file,
        "lock_file": report.lock_file,
        "previous_lock": report.previous,
        "passed": report.passed,
        "summary": {
            "models": len(report.models),
            "errors": report.errors,
            "warnings": report.warnings,
            "notes": sum(1 for f in report.findings if f.severity == "note"),
        },
        "models": [dataclasses.asdict(m) for m in report.models],
        "findings": [dataclasses.asdict(f) for f in report.findings],
    }


def render(report: CheckReport) -> str:
    return json.dumps(as_data(report), indent=2, sort_keys=True, ensure_ascii=False)
