"""End to end on the bundled example: lock, install, no-op, stale locks, removal, frozen installs.

These read like a session at a shell: each test copies examples/ to a temp folder and runs
``kmenv`` on it. Everything is offline (the example is a static registry on disk).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import EXAMPLES, Runner


def models_link(project: Path) -> str:
    return os.readlink(project / ".kmenv" / "models")


def test_install_locks_fetches_and_switches(example: Path, kmenv: Runner) -> None:
    result = kmenv("-C", example, "install")
    assert result.code == 0, result.err
    assert "Installed 5 models" in result.out
    lock = json.loads((example / "kmodels.lock").read_text())
    assert set(lock["models"]) == {"adder", "bert", "chat", "iris", "tiny-lm-base"}
    assert models_link(example) == "generations/1"
    for name, model in lock["models"].items():
        for f in model["files"]:
            assert (example / ".kmenv" / "models" / name / f["path"]).stat().st_size == f["size"]


def test_the_policy_and_environment_choose_older_versions(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "lock").code == 0
    lock = json.loads((example / "kmodels.lock").read_text())["models"]
    assert lock["adder"]["version"] == 2  # version 3 turned non-commercial; the policy allows Apache-2.0 and MIT only
    assert lock["bert"]["version"] == 3  # version 4 needs transformers>=4.50; the environment has 4.44.2
    assert lock["chat"]["base"] == "tiny-lm-base"
    assert lock["tiny-lm-base"]["required-by"] == ["chat"]


def test_locking_twice_gives_identical_bytes(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "lock")
    first = (example / "kmodels.lock").read_bytes()
    (example / "kmodels.lock").unlink()
    kmenv("-C", example, "lock")
    assert (example / "kmodels.lock").read_bytes() == first
    again = kmenv("-C", example, "lock")
    assert "kmodels.lock unchanged" in again.out


def test_second_install_is_a_one_line_no_op(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    result = kmenv("-C", example, "install", subprocess_=True)
    assert result.code == 0, result.err
    assert result.out.strip().splitlines() == ["Environment up to date (generation 1); nothing to do."]
    assert result.err == ""
    assert models_link(example) == "generations/1"


def test_excluding_the_locked_version_makes_locked_fail_and_install_relock(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))

    refused = kmenv("-C", example, "install", "--locked")
    assert refused.code == 2
    assert "version 2 no longer satisfies '<2'" in refused.err
    assert "kmenv lock" in refused.err
    assert models_link(example) == "generations/1"

    relocked = kmenv("-C", example, "install")
    assert relocked.code == 0, relocked.err
    assert "iris: 2 → 1" in relocked.out
    assert models_link(example) == "generations/2"
    assert json.loads((example / "kmodels.lock").read_text())["models"]["iris"]["version"] == 1


def test_a_constraint_that_still_admits_the_lock_changes_nothing(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    before = (example / "kmodels.lock").read_bytes()
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@>=2"))
    result = kmenv("-C", example, "install", "--locked")
    assert result.code == 0, result.err
    assert "nothing to do" in result.out
    assert (example / "kmodels.lock").read_bytes() == before


def test_removing_a_model_removes_it_from_the_environment(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    assert (example / ".kmenv" / "models" / "chat").is_dir()
    comments_before = [
        line for line in (example / "kmodels.yaml").read_text().splitlines() if line.lstrip().startswith("#")
    ]

    removed = kmenv("-C", example, "remove", "chat")
    assert removed.code == 0, removed.err
    assert kmenv("-C", example, "install").code == 0
    assert not (example / ".kmenv" / "models" / "chat").exists()
    assert not (example / ".kmenv" / "models" / "tiny-lm-base").exists()  # its base went with it
    assert (example / ".kmenv" / "models" / "bert").is_dir()
    comments_after = [
        line for line in (example / "kmodels.yaml").read_text().splitlines() if line.lstrip().startswith("#")
    ]
    assert set(comments_after) <= set(comments_before)
    assert len(comments_after) >= len(comments_before) - 6  # only the removed entry's own comments went


def test_add_declares_locks_and_keeps_comments(example: Path, kmenv: Runner) -> None:
    text = (example / "kmodels.yaml").read_text()
    result = kmenv("-C", example, "add", "kmenv-examples/tiny-lm/pyTorch/base@>=2", "--name", "lm")
    assert result.code == 0, result.err
    new = (example / "kmodels.yaml").read_text()
    assert new.startswith(text.rstrip("\n"))  # appended after the last entry; nothing above it changed
    assert "lm: kmenv-examples/tiny-lm/pyTorch/base@>=2" in new
    locked = json.loads((example / "kmodels.lock").read_text())["models"]
    # declaring chat's base model directly makes it one entry under the project's own name
    assert locked["lm"]["direct"] is True and locked["lm"]["required-by"] == ["chat"]
    assert locked["chat"]["base"] == "lm" and "tiny-lm-base" not in locked


def test_add_of_an_unresolvable_model_leaves_the_file_as_it_was(example: Path, kmenv: Runner) -> None:
    text = (example / "kmodels.yaml").read_text()
    result = kmenv("-C", example, "add", "kmenv-examples/tiny-gemma/gguf/q8_0", "--name", "gemma")
    assert result.code == 3
    assert "licence LicenseRef-kmenv-Gemma not allowed by policy.licenses.allow" in result.err
    assert (example / "kmodels.yaml").read_text() == text


def test_frozen_installs_the_lock_without_checking_it(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "lock")
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    result = kmenv("-C", example, "install", "--frozen")
    assert result.code == 0, result.err
    assert json.loads((example / "kmodels.lock").read_text())["models"]["iris"]["version"] == 2
    # a frozen install never feeds the no-op fast path: the next plain install checks and re-locks
    follow = kmenv("-C", example, "install")
    assert "iris: 2 → 1" in follow.out


def test_frozen_without_a_lock_is_a_usage_error(example: Path, kmenv: Runner) -> None:
    result = kmenv("-C", example, "install", "--frozen")
    assert result.code == 2
    assert "no kmodels.lock" in result.err


def test_install_json_output_is_one_document(example: Path, kmenv: Runner) -> None:
    result = kmenv("-C", example, "install", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["generation"] == 1 and data["switched"] is True
    assert data["models"]["adder"] == 2
    assert data["fetched_files"] > 0


def test_a_second_project_reuses_the_store(example: Path, kmenv: Runner, tmp_path: Path) -> None:
    kmenv("-C", example, "install")
    other = tmp_path / "other"
    other.mkdir()
    (other / "kmodels.yaml").write_text((example / "kmodels.yaml").read_text())
    result = kmenv("-C", other, "install", "--json")
    assert json.loads(result.out)["fetched_files"] == 0


def test_offline_refuses_an_http_registry_only_when_it_is_needed(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("url: ../registry", "url: http://127.0.0.1:9/registry"))
    # the lock's registry changed, so the lock is stale and must be re-resolved: that needs the network
    refused = kmenv("--offline", "-C", example, "install")
    assert refused.code == 5
    assert "offline" in refused.err and "needs the network" in refused.err
    assert models_link(example) == "generations/1"


def test_a_detected_environment_is_read_from_the_interpreter_and_never_trusted_to_the_fast_path(
    example: Path, kmenv: Runner
) -> None:
    spec = example / "kmodels.yaml"
    text = spec.read_text()
    spec.write_text(text.replace('  python: "3.11"\n', '  python: "3.11"\n  detect: true\n'))
    first = kmenv("-C", example, "install")
    assert first.code == 0, first.err
    lock = json.loads((example / "kmodels.lock").read_text())
    assert lock["inputs"]["environment"]["detect"] is True
    state = json.loads((example / ".kmenv" / "state.json").read_text())
    assert state["fast_path"] is False  # installed packages may change without any file changing
    again = kmenv("-C", example, "install")
    assert "nothing to do" in again.out and "(5 models" in again.out  # answered by the checking path


def test_lock_says_which_newer_versions_the_policy_and_environment_passed_over(example: Path, kmenv: Runner) -> None:
    out = kmenv("-C", example, "lock").out
    assert "note: adder: version 3 skipped: licence CC-BY-NC-4.0 not allowed by policy.licenses.allow" in out
    assert "note: bert: version 4 skipped: needs transformers>=4.50, environment has transformers 4.44.2" in out


def test_the_committed_example_lock_is_current(example: Path, kmenv: Runner) -> None:
    committed = (EXAMPLES / "quickstart" / "kmodels.lock").read_text()
    (example / "kmodels.lock").write_text(committed)
    assert kmenv("-C", example, "lock", "--check").code == 0
    (example / "kmodels.lock").unlink()
    kmenv("-C", example, "lock")
    assert (example / "kmodels.lock").read_text() == committed, "run `kmenv -C examples/quickstart lock` and commit"
