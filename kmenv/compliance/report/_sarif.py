"""SARIF 2.1.0 for code scanning: one rule per finding kind, each result located at its line in kmodels.yaml.

GitHub rejects results without a location, so a finding with no known line points at line 1. Paths are
relative to ``%SRCROOT%`` (the checkout: run ``kmenv -C sub check`` from the repository root and results
point at ``sub/kmodels.yaml``); a spec file outside the working directory gets an absolute ``file:`` URI.
A licence let through by a policy exception was reviewed and approved in kmodels.yaml itself, so its
result carries an ``inSource`` suppression with the finding as justification: code scanning then shows it
as closed, not as an open alert.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from kmenv.compliance.check import KINDS, CheckReport, Finding

__all__ = ["SRCROOT", "render"]

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: The uriBaseId results are relative to: the repository checkout (the working directory of the run).
SRCROOT = "%SRCROOT%"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}

#: Per kind: the usual level, what it means, and what to do about it (shown on the alert page).
_RULES: dict[str, tuple[str, str, str]] = {
    "denied": (
        "error",
        "The model's licence (or its effective licence with its base models) is not allowed by "
        "policy.licenses in kmodels.yaml.",
        "Allow the licence or its category in policy.licenses, add an exception for the model with a "
        "reason, or choose a version or model under an allowed licence.",
    ),
    "unknown": (
        "warning",
        "kmenv could not recognise the licence the registry publishes for this model (missing, ambiguous or "
        "not in its licence table); policy.licenses.unknown decides whether that fails the check.",
        "Map the published name to a licence id in policy.licenses.aliases, or state the model's licence "
        "in a policy.licenses.clarify entry.",
    ),
    "unparseable": (
        "error",
        "The licence published for this model is not a valid SPDX licence expression.",
        "State the model's licence as an SPDX expression in a policy.licenses.clarify entry.",
    ),
    "derivative": (
        "error",
        "The model is a fine-tune of a base model whose licence forbids derivative works (for example CC-BY-ND-4.0).",
        "Use another base model, or add an exception for the fine-tune that allows the base's licence, "
        "with the reason it is acceptable.",
    ),
    "exception-used": (
        "note",
        "A policy exception in kmodels.yaml let this model's licence through. The exception records a "
        "reviewed decision, so the result is reported as suppressed.",
        "Nothing to do while the exception's reason holds; remove the exception when it no longer does.",
    ),
    "exception-unused": (
        "warning",
        "A policy exception in kmodels.yaml matches no locked model, so it allows nothing and may hide a "
        "typo in its model, versions or allow list.",
        "Remove the exception, or correct its model, versions or allow list.",
    ),
    "licence-changed": (
        "warning",
        "The model's licence differs from the one it had in the previous lock (by default kmodels.lock at "
        "git HEAD; in a pull request job, pass the base branch's lock with --previous).",
        "Review the new licence before merging.",
    ),
}


def _rule(kind: str) -> dict[str, Any]:
    level, full, help_text = _RULES[kind]
    return {
        "id": f"kmenv/{kind}",
        "name": "".join(part.capitalize() for part in kind.split("-")),
        "shortDescription": {"text": KINDS[kind]},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": f"**{KINDS[kind]}.** {full}\n\n{help_text}"},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["licence", "compliance"]},
    }


def _artifact(spec_file: str) -> dict[str, str]:
    """An artifactLocation: relative to %SRCROOT% when the path is relative, else an absolute file URI."""
    for flavour in (PurePosixPath, PureWindowsPath):
        path = flavour(spec_file)
        if path.is_absolute():
            return {"uri": path.as_uri()}
    return {"uri": quote(spec_file.replace("\\", "/"), safe="/"), "uriBaseId": SRCROOT}


def _result(f: Finding, rule_index: int, artifact: dict[str, str]) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": f.line or 1}
    if f.column is not None:
        region["startColumn"] = f.column
    message = f.message + (f"\nhint: {f.hint}" if f.hint else "")
    result: dict[str, Any] = {
        "ruleId": f"kmenv/{f.kind}",
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": message},
        "locations": [{"physicalLocation": {"artifactLocation": dict(artifact), "region": region}}],
        "partialFingerprints": {"kmenvFinding/v1": f"{f.kind}:{f.model or ''}:{f.version or ''}"},
    }
    if f.kind == "exception-used":
        result["suppressions"] = [{"kind": "inSource", "status": "accepted", "justification": f.message}]
    if f.model is not None:
        result["properties"] = {"model": f.model, "version": f.version}
    return result


def render(report: CheckReport) -> str:
    from kmenv._version import __version__

    kinds = list(KINDS)
    artifact = _artifact(report.spec_file)
    results = [_result(f, kinds.index(f.kind), artifact) for f in report.findings]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "kmenv",
                "version": __version__,
                "rules": [_rule(kind) for kind in kinds],
            }
        },
        "results": results,
    }
    if "uriBaseId" in artifact:
        run["originalUriBaseIds"] = {
            SRCROOT: {"description": {"text": "The repository checkout kmenv check ran from (its working directory)"}}
        }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False)
