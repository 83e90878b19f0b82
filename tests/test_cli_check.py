"""``kmenv check`` on the example: a denial readable in ``lock`` and ``check``, and an exception admitting it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Runner

ADDER = "  adder: kmenv-examples/bias-add/onnx/fp32\n"
EXCEPTION = """\
    exceptions:
      - model: adder
        versions: ">=3"
        allow: [CC-BY-NC-4.0]
        reason: "internal benchmark only, approved by legal (LEGAL-42)"
"""


def edit(project: Path, old: str, new: str) -> None:
    spec = project / "kmodels.yaml"
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")


def want_adder_3(project: Path) -> None:
    edit(project, ADDER, "  adder: kmenv-examples/bias-add/onnx/fp32@>=3\n")


def add_exception(project: Path) -> None:
    edit(project, "    unknown: deny\n", "    unknown: deny\n" + EXCEPTION)


def test_the_example_passes_as_shipped(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "lock").code == 0
    result = kmenv("-C", example, "check", "--no-git")
    assert result.code == 0, result.err
    assert "ok        adder 2" in result.out
    assert "with base: MIT AND Apache-2.0" in result.out  # chat is a fine-tune of tiny-lm-base
    assert result.out.rstrip().endswith("5 models checked: 0 errors, 0 warnings (licence policy satisfied)")


def test_lock_explains_the_licence_denial_and_the_fix(example: Path, kmenv: Runner) -> None:
    want_adder_3(example)
    result = kmenv("-C", example, "lock")
    assert result.code == 3
    assert (
        "kmodels.yaml requires adder >=3 (kmenv-examples/bias-add/onnx/fp32) → version 3 denied: "
        "licence CC-BY-NC-4.0 not allowed by policy.licenses.allow (category non-commercial)"
    ) in result.err
    assert "hint: allow CC-BY-NC-4.0 in policy.licenses.allow, allow non-commercial in " in result.err
    assert "add an exception for adder (allow: [CC-BY-NC-4.0] with a reason)" in result.err


def test_an_exception_with_a_reason_lets_it_through_and_check_says_so(example: Path, kmenv: Runner) -> None:
    want_adder_3(example)
    add_exception(example)
    locked = kmenv("-C", example, "lock", "--json")
    assert locked.code == 0, locked.err
    assert json.loads(locked.out)["models"]["adder"] == 3
    result = kmenv("-C", example, "check", "--no-git")
    assert result.code == 0, result.err
    assert "exception adder 3" in result.out
    assert (
        "note: [exception-used] adder 3: CC-BY-NC-4.0 allowed by exception for adder: "
        "internal benchmark only, approved by legal (LEGAL-42)"
    ) in result.out


def test_an_exception_needs_a_reason(example: Path, kmenv: Runner) -> None:
    add_exception(example)
    edit(example, '        reason: "internal benchmark only, approved by legal (LEGAL-42)"\n', "")
    result = kmenv("-C", example, "check")
    assert result.code == 2
    assert "policy.licenses.exceptions[0].reason: missing key 'reason'" in result.err


def test_check_fails_with_exit_4_when_the_lock_holds_a_denied_licence(
    example: Path, kmenv: Runner, tmp_path: Path
) -> None:
    want_adder_3(example)
    add_exception(example)
    assert kmenv("-C", example, "lock").code == 0
    edit(example, EXCEPTION, "")  # the exception is withdrawn; the lock still holds adder 3
    result = kmenv("check", "--no-git", cwd=example)  # paths in reports are relative to the working directory
    assert result.code == 4
    line = (example / "kmodels.yaml").read_text(encoding="utf-8").splitlines().index(
        ADDER.rstrip("\n").replace("fp32", "fp32@>=3")
    ) + 1
    assert (
        f"kmodels.yaml:{line}: error: [denied] adder 3: licence CC-BY-NC-4.0 not allowed by policy.licenses.allow "
        "(category non-commercial)"
    ) in result.out
    assert "licence policy violated (1 error)" in result.err
    assert kmenv("-C", example, "check", "--no-git", "--warn-only").code == 0
    report = tmp_path / "report.json"
    written = kmenv("-C", example, "check", "--no-git", "--format", "json", "--output", report)
    assert written.code == 4
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["schema_version"] == 2 and data["summary"]["errors"] == 1
    assert "1 error, 0 warnings" in written.out


def test_check_resolves_first_when_there_is_no_lock_and_writes_none(example: Path, kmenv: Runner) -> None:
    result = kmenv("-C", example, "check", "--no-git", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["passed"] is True
    assert not (example / "kmodels.lock").exists()


def test_a_licence_change_against_a_previous_lock_file(example: Path, kmenv: Runner, tmp_path: Path) -> None:
    assert kmenv("-C", example, "lock").code == 0
    previous = tmp_path / "previous.lock"
    shutil.copy(example / "kmodels.lock", previous)
    want_adder_3(example)
    add_exception(example)
    assert kmenv("-C", example, "lock").code == 0
    result = kmenv("-C", example, "check", "--previous", previous)
    assert result.code == 0
    assert (
        "warning: [licence-changed] adder: licence changed from Apache-2.0 (version 2) to CC-BY-NC-4.0 "
        "(version 3) since the previous lock"
    ) in result.out
    assert f"(licence changes compared with {previous})" in result.out
    missing = kmenv("-C", example, "check", "--previous", tmp_path / "nope.lock")
    assert missing.code == 2 and "--previous" in missing.err


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_previous_lock_comes_from_git_head(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "lock").code == 0

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(example), *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "kmodels.lock")
    git("commit", "-q", "-m", "lock")
    want_adder_3(example)
    add_exception(example)
    assert kmenv("-C", example, "lock").code == 0
    result = kmenv("-C", example, "check", "--format", "json")
    data = json.loads(result.out)
    assert data["previous_lock"] == "git HEAD:kmodels.lock"
    assert [f["model"] for f in data["findings"] if f["kind"] == "licence-changed"] == ["adder"]
