"""Counts in messages read as English: "1 model", "2 models", never "1 models" or "1 file(s)"."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import REPO, Runner

from kmenv.values.wording import counted


def test_counted_is_singular_for_exactly_one() -> None:
    assert counted(1, "model") == "1 model"
    assert [counted(n, "file") for n in (0, 2, 10)] == ["0 files", "2 files", "10 files"]
    assert counted(3, "entry") == "3 entries" and counted(1, "entry") == "1 entry"
    assert counted(2, "new file") == "2 new files" and counted(2, "index", "indices") == "2 indices"


def test_a_one_model_one_file_install_says_so(example: Path, kmenv: Runner) -> None:
    (example / "kmodels.yaml").write_text(
        "version: 1\nregistries: {example: {url: ../registry}}\n"
        "models:\n  adder:\n    handle: kmenv-examples/bias-add/onnx/fp32\n    version: '<3'\n    files: [model.onnx]\n"
    )
    result = kmenv("-C", example, "install")
    assert result.code == 0, result.err
    assert "Installed 1 model into" in result.out and "fetched 1 file," in result.out
    assert "fetching 1 file…" in result.err and "  1 file, " in result.err
    assert ": 1 file, " in kmenv("-C", example, "validate").out
    assert "Locked 1 model (" in kmenv("-C", example, "lock").out


#: A count followed by a plural noun inside an f-string, or a "(s)" plural: what `counted` is for.
_COUNT_THEN_PLURAL = re.compile(
    r"\{[^{}]*(len\(|count|files|errors|problems|\bn\b)[^{}]*\} (models|files|errors|problems|items|entries)\b"
)
_PAREN_PLURAL = re.compile(r"\b(file|model|error|problem|attempt|version)\(s\)")


def test_no_message_spells_a_plural_by_hand() -> None:
    """Every count reaches the user through ``counted`` (kmenv/errors.py, which imports nothing, excepted)."""
    offenders = []
    for path in sorted((REPO / "kmenv").rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                text = ast.unparse(node)
                if _COUNT_THEN_PLURAL.search(text) or _PAREN_PLURAL.search(text):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {text}")
    assert not offenders, "\n".join(offenders)
