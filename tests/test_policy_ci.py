"""The licence workflow in examples/ci runs as written: its kmenv steps, executed under bash the way the Actions
runner does, on a git checkout of the example where a pull request changes a licence or tightens the policy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner
from test_ci_recipes import CI, git, load, run_step
from test_cli_check import add_exception, edit, want_adder_3

pytestmark = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="git")

BASE = "github.event.pull_request.base.sha || github.event.before"
WORKFLOW = load(CI / "licences.yml")
STEPS = {s["name"]: s for s in WORKFLOW["jobs"]["licences"]["steps"] if "name" in s}


def pull_request(example: Path, kmenv: Runner) -> str:
    """The example locked and committed as the base branch; returns the base commit."""
    assert kmenv("-C", example, "lock").code == 0
    git(example, "init", "-q")
    git(example, "add", "-A")
    git(example, "commit", "-q", "-m", "base")
    return git(example, "rev-parse", "HEAD")


def run(name: str, root: Path, tmp_path: Path, base: str, project: str = ".") -> subprocess.CompletedProcess[str]:
    env = {k: str(v) for k, v in WORKFLOW["env"].items()}
    assert env["PROJECT"] == "."  # as shipped: kmodels.yaml at the repository root
    env.update(PROJECT=project, RUNNER_TEMP=str(tmp_path), GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    return run_step(STEPS[name], root, {BASE: base}, env)


def sarif(example: Path) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads((example / "kmenv-licences.sarif").read_text("utf-8"))["runs"][0][
        "results"
    ]
    return results


def test_the_check_step_compares_licences_with_the_pull_request_base(
    example: Path, kmenv: Runner, tmp_path: Path
) -> None:
    base = pull_request(example, kmenv)
    want_adder_3(example)  # the pull request: bias-add 3 (CC-BY-NC-4.0) under a reviewed exception
    add_exception(example)
    assert kmenv("-C", example, "lock").code == 0
    git(example, "commit", "-q", "-am", "adder 3")
    assert run("Lock is up to date", example, tmp_path, base).returncode == 0
    done = run("Check licences", example, tmp_path, base)
    assert done.returncode == 0, done.stderr
    assert "::warning file=kmodels.yaml," in done.stdout and "title=kmenv licence-changed::adder" in done.stdout
    assert "licence-changed" in (tmp_path / "summary.md").read_text("utf-8")
    results = {r["ruleId"]: r for r in sarif(example)}
    assert "Apache-2.0 (version 2) to CC-BY-NC-4.0 (version 3)" in results["kmenv/licence-changed"]["message"]["text"]
    assert results["kmenv/exception-used"]["suppressions"][0]["kind"] == "inSource"
    assert results["kmenv/licence-changed"]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "kmodels.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    # what the step avoids: in a pull request job HEAD is the pull request, so git HEAD sees no change at all
    head = kmenv("check", "--json", cwd=example)
    assert head.code == 0 and "licence-changed" not in {f["kind"] for f in json.loads(head.out)["findings"]}


def test_the_steps_fail_the_job_on_a_stale_lock_and_a_violation(example: Path, kmenv: Runner, tmp_path: Path) -> None:
    base = pull_request(example, kmenv)
    edit(example, "allow: [Apache-2.0, MIT]", "allow: [MIT]")  # the policy is tightened without re-locking
    git(example, "commit", "-q", "-am", "only MIT")
    stale = run("Lock is up to date", example, tmp_path, base)
    assert stale.returncode == 2 and "licence Apache-2.0 not allowed by policy.licenses.allow" in stale.stderr
    failed = run("Check licences", example, tmp_path, base)
    assert failed.returncode == 4, failed.stderr
    assert failed.stdout.startswith("::error file=kmodels.yaml,line=")  # annotations come first, then the failure
    denied = {r["properties"]["model"] for r in sarif(example) if r["ruleId"] == "kmenv/denied"}
    assert denied == {"adder", "bert", "tiny-lm-base"}


def test_the_check_step_on_a_new_branch_has_nothing_to_compare_with(
    example: Path, kmenv: Runner, tmp_path: Path
) -> None:
    pull_request(example, kmenv)
    done = run("Check licences", example, tmp_path, "0" * 40)  # github.event.before when a branch is created
    assert done.returncode == 0, done.stderr
    assert sarif(example) == []


def test_a_project_in_a_subfolder_is_compared_and_located_from_the_repository_root(
    example: Path, kmenv: Runner, tmp_path: Path
) -> None:
    root = example.parent  # the repository holds registry/ and the project in quickstart/
    assert kmenv("-C", example, "lock").code == 0
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    want_adder_3(example)
    add_exception(example)
    assert kmenv("-C", example, "lock").code == 0
    git(root, "commit", "-q", "-am", "adder 3")
    done = run("Check licences", root, tmp_path, base, project="quickstart/")
    assert done.returncode == 0, done.stderr
    assert "::warning file=quickstart/kmodels.yaml," in done.stdout
    changed = [r for r in sarif(root) if r["ruleId"] == "kmenv/licence-changed"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in changed] == [
        "quickstart/kmodels.yaml"
    ]
