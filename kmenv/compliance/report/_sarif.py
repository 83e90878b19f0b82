"""SARIF 2.1.0 for code scanning: one rule per finding kind, each result located at its line in kmodels.yaml.

GitHub rejects results without a location, so a finding with no known line points at line 1.
"""

from __future__ import annotations

import json
from typing import Any

from kmenv.compliance.check import KINDS, CheckReport

__all__ = ["render"]

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def render(report: CheckReport) -> str:
    from kmenv._version import __version__

    kinds = list(KINDS)
    rules = [
        {
            "id": f"kmenv/{kind}",
            "name": "".join(part.capitalize() for part in kind.split("-")),
            "shortDescription": {"text": KINDS[kind]},
        }
        for kind in kinds
    ]
    results: list[dict[str, Any]] = []
    for f in report.findings:
        region: dict[str, int] = {"startLine": f.line or 1}
        if f.column is not None:
            region["startColumn"] = f.column
        message = f.message + (f"\nhint: {f.hint}" if f.hint else "")
        result: dict[str, Any] = {
            "ruleId": f"kmenv/{f.kind}",
            "ruleIndex": kinds.index(f.kind),
            "level": _LEVEL[f.severity],
            "message": {"text": message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": report.spec_file}, "region": region}}],
            "partialFingerprints": {"kmenvFinding/v1": f"{f.kind}:{f.model or ''}:{f.version or ''}"},
        }
        if f.model is not None:
            result["properties"] = {"model": f.model, "version": f.version}
        results.append(result)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kmenv",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
