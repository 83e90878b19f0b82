"""Under ``--json`` a failure is a JSON document on stdout too, with the stderr lines and the same exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Result, Runner


def exits(kmenv: Runner, *argv: str | Path) -> Result:
    """``kmenv ARGV`` in-process for a command line argparse refuses (it exits rather than returns)."""
    with pytest.raises(SystemExit) as exited:
        kmenv(*argv)
    captured = kmenv.capsys.readouterr()
    assert isinstance(exited.value.code, int)
    return Result(exited.value.code, captured.out, captured.err)


def error_document(out: str) -> dict[str, object]:
    doc = json.loads(out)
    assert isinstance(doc, dict)
    assert sorted(doc) == ["details", "error", "exit_code", "hint", "schema_version"]
    return doc


def test_a_kmenv_error_is_a_document_on_stdout_and_a_line_on_stderr(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    result = kmenv("-C", example, "path", "nope", "--json")
    assert result.code == 2
    doc = error_document(result.out)
    assert doc["exit_code"] == 2 and doc["schema_version"] == 1
    assert doc["error"] == "no model named 'nope' is declared in kmodels.yaml"
    assert "kmenv add HANDLE --name nope" in str(doc["hint"])
    assert result.err.splitlines()[0] == "error: no model named 'nope' is declared in kmodels.yaml"


def test_without_json_stdout_stays_empty(example: Path, kmenv: Runner) -> None:
    result = kmenv("-C", example, "path", "nope")
    assert result.code == 2 and result.out == ""


def test_located_problems_are_details(example: Path, kmenv: Runner) -> None:
    (example / "kmodels.yaml").write_text("version: 1\nmodels:\n  a: acme/x/transfomers/v\n  c: {hadle: acme/z}\n")
    result = kmenv("-C", example, "lock", "--json")
    assert result.code == 2
    doc = error_document(result.out)
    assert doc["exit_code"] == 2
    assert any("models.a" in line for line in doc["details"])  # type: ignore[attr-defined]
    assert "models.a" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ("list", "--json", "--bogus"),
        ("--json", "list"),
        ("check", "--format", "json", "--nope"),
        ("lock", "--json", "-x"),
    ],
)
def test_a_usage_error_asking_for_json_is_a_document_too(example: Path, kmenv: Runner, argv: tuple[str, ...]) -> None:
    result = exits(kmenv, "-C", example, *argv)
    assert result.code == 2
    doc = error_document(result.out)
    assert doc["exit_code"] == 2 and "--help" in str(doc["hint"])
    assert "error: " in result.err and "usage: " in result.err


def test_a_usage_error_without_json_prints_nothing_on_stdout(example: Path, kmenv: Runner) -> None:
    result = exits(kmenv, "-C", example, "list", "--bogus")
    assert result.code == 2 and result.out == ""
    assert "error: unrecognized arguments: --bogus" in result.err


def test_a_command_that_printed_its_document_adds_no_second_one(example: Path, kmenv: Runner) -> None:
    """``check`` prints its report, then fails with exit 4: stdout holds the report alone."""
    assert kmenv("-C", example, "lock").code == 0
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("allow: [Apache-2.0, MIT]", "allow: [Apache-2.0]"))
    result = kmenv("-C", example, "check", "--no-git", "--json")
    assert result.code == 4, result.err
    report = json.loads(result.out)  # one document: json.loads refuses trailing data
    assert "findings" in report and "error" not in report
    assert "error: " in result.err


def test_an_unexpected_failure_is_exit_1_and_a_document(
    example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kmenv.cli.commands import path

    def broken(*_: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(path, "run", broken)
    result = kmenv("-C", example, "path", "bert", "--json")
    assert result.code == 1
    doc = error_document(result.out)
    assert doc["exit_code"] == 1 and doc["error"] == "unexpected failure: RuntimeError: boom"
    assert "Traceback" not in result.err and "error: unexpected failure: RuntimeError: boom" in result.err


def test_an_interruption_is_exit_130_and_a_document(
    example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kmenv.cli.commands import path

    def interrupted(*_: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(path, "run", interrupted)
    result = kmenv("-C", example, "path", "bert", "--json")
    assert result.code == 130
    assert error_document(result.out)["exit_code"] == 130
    assert result.err.startswith("interrupted; what was complete stays complete")
