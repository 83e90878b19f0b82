"""`kmenv rollback [GENERATION]`: back to an earlier generation atomically; install never calls that up to date."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import Runner


def link(example: Path) -> str:
    return os.readlink(example / ".kmenv" / "models")


def two_generations(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv("-C", example, "install").code == 0
    assert link(example) == "generations/2"


def test_rollback_goes_to_the_previous_generation(example: Path, kmenv: Runner) -> None:
    two_generations(example, kmenv)
    result = kmenv("-C", example, "rollback")
    assert result.code == 0, result.err
    assert result.out.strip() == f"Rolled back {example / '.kmenv'} from generation 2 to 1"
    assert link(example) == "generations/1"
    assert "restore the older lock" in result.err


def test_after_a_rollback_install_is_not_a_no_op(example: Path, kmenv: Runner) -> None:
    two_generations(example, kmenv)
    kmenv("-C", example, "rollback")
    again = kmenv("-C", example, "install", subprocess_=True)  # the real CLI, fast path included
    assert again.code == 0, again.err
    assert "nothing to do" not in again.out
    assert link(example) == "generations/3"


def test_rollback_to_a_named_generation_and_json(example: Path, kmenv: Runner) -> None:
    two_generations(example, kmenv)
    kmenv("-C", example, "rollback")
    result = kmenv("-C", example, "rollback", "2", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "environment": str(example / ".kmenv"),
        "previous": 1,
        "generation": 2,
        "available": [1, 2],
    }


def test_rollback_refuses_what_is_not_there(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "lock").code == 0
    assert kmenv("-C", example, "rollback").code == 2  # nothing installed
    kmenv("-C", example, "install")

    oldest = kmenv("-C", example, "rollback")
    assert oldest.code == 2 and "nothing to roll back to" in oldest.err
    missing = kmenv("-C", example, "rollback", "7")
    assert missing.code == 2 and "generation 7 does not exist" in missing.err and "kept generations: 1" in missing.err
    assert link(example) == "generations/1"


def test_validate_after_a_rollback_says_why_the_files_differ(example: Path, kmenv: Runner) -> None:
    two_generations(example, kmenv)
    kmenv("-C", example, "rollback")
    result = kmenv("-C", example, "validate")
    assert result.code == 6
    assert "rolled back from generation 2" in result.err
