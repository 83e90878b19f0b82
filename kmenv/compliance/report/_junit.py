"""JUnit XML (GitLab's merge-request test widget and most CI dashboards): a test case per model and per exception."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kmenv.compliance.check import CheckReport, Finding

__all__ = ["render"]


def _case(suite: ET.Element, name: str, findings: list[Finding]) -> None:
    case = ET.SubElement(suite, "testcase", classname="kmenv.licences", name=name)
    for f in findings:
        text = f.message + (f"\nhint: {f.hint}" if f.hint else "")
        if f.severity == "error":
            ET.SubElement(case, "failure", message=f.message, type=f.kind).text = text
    notes = [f"{f.severity}: {f.message}" for f in findings if f.severity != "error"]
    if notes:
        ET.SubElement(case, "system-out").text = "\n".join(notes)


def render(report: CheckReport) -> str:
    root = ET.Element("testsuites", name="kmenv check")
    suite = ET.SubElement(root, "testsuite", name="kmenv licence policy")
    by_model: dict[str, list[Finding]] = {}
    others: list[Finding] = []
    names = {m.name for m in report.models}
    for f in report.findings:
        if f.model in names and f.kind != "exception-unused":
            by_model.setdefault(f.model, []).append(f)
        else:
            others.append(f)
    for m in report.models:
        _case(suite, f"{m.name} {m.version} ({m.expression or m.published or 'no licence'})", by_model.get(m.name, []))
    for f in others:
        _case(suite, f"{f.kind}: {f.model or 'policy'}", [f])
    cases = suite.findall("testcase")
    failures = sum(1 for c in cases if c.find("failure") is not None)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    root.set("tests", str(len(cases)))
    root.set("failures", str(failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
