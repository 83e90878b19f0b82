"""ProjectState: a project's two files read once, parsed on first use, and replaced by new values after a write."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import kmenv
from kmenv.actions.state import ProjectState, write_spec
from kmenv.errors import LockfileError, ProjectNotFoundError, SpecError, UsageError


def test_the_digests_are_of_the_bytes_on_disk_and_the_text_reads_like_read_text(tmp_path: Path) -> None:
    (tmp_path / "kmodels.yaml").write_bytes(b"version: 1\r\nmodels: {}\r\n")
    state = ProjectState(tmp_path)
    assert state.spec_sha256 == hashlib.sha256(b"version: 1\r\nmodels: {}\r\n").hexdigest()
    assert state.spec_text == "version: 1\nmodels: {}\n"
    assert list(state.spec.declared_models()) == []
    assert state.lock is None and state.lock_sha256 is None


def test_bytes_that_are_not_utf8_are_reported_like_the_spec_loader_does(tmp_path: Path) -> None:
    (tmp_path / "kmodels.yaml").write_bytes(b"version: 1\nmodels:\n  caf\xe9: owner/model\n")
    (tmp_path / "kmodels.lock").write_bytes(b"\xff\xfe")
    state = ProjectState(tmp_path)
    with pytest.raises(SpecError) as caught:
        _ = state.spec
    assert (caught.value.problems[0].line, caught.value.problems[0].message) == (3, "the file is not UTF-8 text")
    with pytest.raises(LockfileError, match=r"kmodels\.lock:1:1: the file is UTF-16 text"):  # \xff\xfe: its BOM
        _ = state.lock
    (tmp_path / "kmodels.lock").write_bytes(b'{"a":\n "caf\xe9"}')
    with pytest.raises(LockfileError, match=r"kmodels\.lock:2:6: not UTF-8 text"):
        _ = ProjectState(tmp_path).lock


def test_a_missing_declaration_or_lock_says_what_to_run(tmp_path: Path) -> None:
    state = ProjectState(tmp_path)
    assert state.spec_sha256 is None  # --frozen records this without needing the file
    with pytest.raises(ProjectNotFoundError, match="does not exist"):
        _ = state.spec
    with pytest.raises(ProjectNotFoundError, match="does not exist"):
        _ = state.spec_text
    with pytest.raises(UsageError, match=r"no kmodels\.lock"):
        state.require_lock()


def test_a_write_gives_a_new_state_and_leaves_the_old_one_as_it_was(example: Path) -> None:
    outcome = kmenv.lock(example)
    before = kmenv.Project(example).open()
    assert before.lock == outcome.state.lock and before.lock_sha256 == outcome.state.lock_sha256
    text = before.spec_text
    after = write_spec(before, text.replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert before.spec_text == text and after.spec_text != text
    assert after.spec_sha256 == hashlib.sha256((example / "kmodels.yaml").read_bytes()).hexdigest()
    assert after.inputs.models["iris"].versions == "<2" and before.inputs.models["iris"].versions == ">=1,<3"
    assert after.lock is before.lock  # the lock was not read again
