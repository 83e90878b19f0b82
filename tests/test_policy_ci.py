"""The CI recipes in examples/ci run as written: every kmenv command line in them works on the example project."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from conftest import EXAMPLES, Runner
from ruamel.yaml import YAML

CI = EXAMPLES / "ci"


def workflow_commands() -> list[list[str]]:
    workflow = YAML(typ="safe").load((CI / "licences.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["licences"]["steps"]
    return [shlex.split(step["run"]) for step in steps if step.get("run", "").startswith("kmenv ")]


def test_the_workflow_checks_uploads_sarif_and_annotates() -> None:
    workflow = YAML(typ="safe").load((CI / "licences.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["licences"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert upload["if"] == "always()" and upload["with"]["sarif_file"] == "kmenv-licences.sarif"
    assert workflow["permissions"]["security-events"] == "write"
    assert [c[:2] for c in workflow_commands()] == [["kmenv", "lock"], ["kmenv", "check"], ["kmenv", "check"]]


def test_the_workflow_commands_run_on_the_example(example: Path, kmenv: Runner) -> None:
    assert kmenv("lock", cwd=example).code == 0
    for argv in workflow_commands():
        result = kmenv(*argv[1:], cwd=example)
        assert result.code == 0, (argv, result.err)
    sarif = json.loads((example / "kmenv-licences.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"] == []


def test_the_workflow_fails_the_job_on_a_violation(example: Path, kmenv: Runner) -> None:
    assert kmenv("lock", cwd=example).code == 0
    spec = example / "kmodels.yaml"  # the policy is tightened without re-locking
    spec.write_text(spec.read_text(encoding="utf-8").replace("allow: [Apache-2.0, MIT]", "allow: [MIT]"), "utf-8")
    lock, check, annotate = workflow_commands()
    stale = kmenv(*lock[1:], cwd=example)
    assert stale.code == 2 and "licence Apache-2.0 not allowed by policy.licenses.allow" in stale.err
    result = kmenv(*check[1:], cwd=example)
    assert result.code == 4
    sarif = json.loads((example / "kmenv-licences.sarif").read_text(encoding="utf-8"))
    denied = {r["properties"]["model"] for r in sarif["runs"][0]["results"] if r["ruleId"] == "kmenv/denied"}
    assert denied == {"adder", "bert", "tiny-lm-base"}
    annotations = kmenv(*annotate[1:], cwd=example)
    assert annotations.code == 0  # --warn-only: the SARIF step has already failed the job
    assert annotations.out.startswith("::error file=kmodels.yaml,line=")


def test_the_pre_commit_hooks_run_on_the_example(example: Path, kmenv: Runner) -> None:
    hooks = YAML(typ="safe").load((CI / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"kmenv-check", "kmenv-lock-check"}
    assert kmenv("lock", cwd=example).code == 0
    for hook in hooks:
        assert hook["pass_filenames"] is False and hook["language"] == "python"
        argv = shlex.split(hook["entry"])
        assert argv[0] == "kmenv"
        result = kmenv(*argv[1:], cwd=example)
        assert result.code == 0, (hook["id"], result.err)
