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


def test_after_a_rollback_install_returns_to_the_kept_generation_of_the_lock(example: Path, kmenv: Runner) -> None:
    two_generations(example, kmenv)
    kmenv("-C", example, "rollback")
    again = kmenv("-C", example, "install", subprocess_=True)  # the real CLI, fast path included
    assert again.code == 0, again.err
    assert "nothing to do" not in again.out
    assert link(example) == "generations/2"  # generation 2 already holds the lock: no identical copy is built
    assert sorted(p.name for p in (example / ".kmenv" / "generations").iterdir() if p.is_dir()) == ["1", "2"]


def test_rollback_to_a_named_generation_and_json(example: Path, kmenv: Runner) -> None:
    two_generations(example, kmenv)
    kmenv("-C", example, "rollback")
    result = kmenv("-C", example, "rollback", "2", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "schema_version": 1,
        "environment": str(example / ".kmenv"),
        "previous": 1,
        "generation": 2,
        "available": [1, 2],
        "direction": "forward",
        "matches_lock": True,
        "differences": [],
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


def test_rolling_forward_to_the_lock_says_so_and_install_has_nothing_to_do(example: Path, kmenv: Runner) -> None:
    two_generations(example, kmenv)
    back = kmenv("-C", example, "rollback")
    assert "iris: version 2 installed, 1 in kmodels.lock" in back.err
    forward = kmenv("-C", example, "rollback", "2")
    assert forward.code == 0, forward.err
    assert forward.out.strip() == f"Rolled forward {example / '.kmenv'} from generation 1 to 2"
    assert "matches kmodels.lock" in forward.err
    assert "Rolled back" not in forward.out + forward.err and "newer models" not in forward.err
    again = kmenv("-C", example, "install", subprocess_=True)
    assert again.code == 0, again.err
    assert "nothing to do" in again.out
    assert link(example) == "generations/2" and not (example / ".kmenv" / "generations" / "3").exists()


def test_a_relock_that_changes_only_recorded_inputs_builds_no_new_generation(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    spec = example / "kmodels.yaml"
    # a wider constraint that still picks the same versions: the lock's inputs change, its models do not
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@>=1,<4"))
    lock_before = (example / "kmodels.lock").read_text()
    assert kmenv("-C", example, "lock").code == 0
    assert (example / "kmodels.lock").read_text() != lock_before
    result = kmenv("-C", example, "install", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["generation"] == 1 and not data["switched"]
    assert link(example) == "generations/1" and not (example / ".kmenv" / "generations" / "2").exists()
    # the generation now records the new lock, so it is described as matching it
    assert kmenv("-C", example, "list").err == ""
    assert "nothing to do" in kmenv("-C", example, "install", subprocess_=True).out


def test_after_a_rollback_list_tree_why_and_path_describe_the_generation_in_use(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0  # generation 1: iris 2, chat 3 with its base tiny-lm-base
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv("-C", example, "remove", "chat", "--no-lock").code == 0
    assert kmenv("-C", example, "install").code == 0  # generation 2: iris 1, no chat, no base model
    assert kmenv("-C", example, "rollback").code == 0

    rows = {r["name"]: r for r in json.loads(kmenv("-C", example, "list", "--json").out)["models"]}
    assert rows["iris"]["version"] == 2 and rows["iris"]["locked_version"] == 1
    assert rows["iris"]["matches_lock"] is False and rows["iris"]["installed"] is True
    base = rows["tiny-lm-base"]
    assert base["installed"] is True and base["direct"] is False and base["locked_version"] is None
    assert Path(base["path"]) == (example / ".kmenv" / "generations" / "1" / "tiny-lm-base").resolve()
    assert rows["bert"]["matches_lock"] is True
    listed = kmenv("-C", example, "list")
    assert "2 (lock: 1)" in listed.out and "tiny-lm-base (base)" in listed.out
    assert "generation 1 (in use) differs from kmodels.lock" in listed.err
    assert "iris: version 2 installed, 1 in kmodels.lock" in listed.err
    assert "tiny-lm-base: installed, not in kmodels.lock" in listed.err

    tree = json.loads(kmenv("-C", example, "tree", "--json").out)["models"]
    chat = next(n for n in tree if n["name"] == "chat")
    assert chat["locked_version"] is None
    assert [c["name"] for c in chat["children"]] == ["tiny-lm-base"]
    assert "differs from kmodels.lock" in kmenv("-C", example, "tree").err

    why = json.loads(kmenv("-C", example, "why", "tiny-lm-base", "--json").out)
    assert why["source"] == "generation" and why["generation"] == 1
    assert why["chains"] == [
        [
            "chat 3 was declared in kmodels.yaml as kmenv-examples/tiny-lm-lora/pyTorch/chat >=2"
            " (now: no longer declared)",
            "tiny-lm-base 3 is the base model of chat 3",
        ]
    ]
    assert why["differences"]
    assert kmenv("-C", example, "why", "iris").out.strip() == (
        "iris 2 was declared in kmodels.yaml as kmenv-examples/iris/scikitLearn/logistic-regression >=1,<3"
        " (now: kmenv-examples/iris/scikitLearn/logistic-regression <2)"
    )

    path = kmenv("-C", example, "path", "tiny-lm-base").out.strip()
    assert Path(path) == (example / ".kmenv" / "generations" / "1" / "tiny-lm-base").resolve()
