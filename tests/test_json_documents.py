"""Every ``--json`` document, printed by a real run on the bundled example, is valid against its committed schema.

The schemas in ``schemas/output/`` are generated from :mod:`kmenv.actions.outputs`; this test is where the
models meet what the commands really print (field names, nulls, types, times as ISO-8601 UTC, ``license``).
The Kaggle-only commands (whoami, login, download, validate DIR) are run against the emulator in
``tests/kaggle/test_kaggle_json_documents.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Runner
from json_documents import document
from test_registry_build import make_source

from kmenv.actions.outputs import DOCUMENTS
from kmenv.actions.outputs.versions import VERSIONS
from kmenv.compliance.check import SCHEMA_VERSION

#: The kinds the Kaggle test checks (they need a Kaggle API).
KAGGLE_KINDS = {"whoami", "login", "download", "validate-folder"}

BERT = "kmenv-examples/tiny-bert/transformers/base"


class Seen:
    """Runs a command with ``--json`` and checks its document, remembering the kinds checked."""

    def __init__(self, kmenv: Runner, project: Path) -> None:
        self.kmenv = kmenv
        self.project = project
        self.kinds: set[str] = set()

    def __call__(self, kind: str, *args: str | Path, code: int = 0) -> dict[str, object]:
        result = self.kmenv("-C", self.project, *args, "--json")
        assert result.code == code, f"{args}: exit {result.code}\n{result.err}"
        data = document(kind, result.out)
        assert data["schema_version"] == VERSIONS[kind]
        self.kinds.add(kind)
        return data


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_every_document_matches_its_schema(
    example: Path, kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = Seen(kmenv, example)
    spec = example / "kmodels.yaml"
    edit(spec, "logistic-regression@>=1,<3", "logistic-regression@<2")  # iris 1 now, upgradable to 2 below
    assert seen("lock", "lock")["written"] is True
    assert seen("lock-check", "lock", "--check")["stale"] is False
    installed = seen("install", "install")
    assert installed["generation"] == 1
    assert seen("install", "install")["cleanup"] is None  # nothing to do: the second shape of cleanup

    assert {row["name"] for row in seen("list", "list")["models"]} >= {"bert", "iris"}  # type: ignore[attr-defined]
    seen("tree", "tree")
    seen("why", "why", "tiny-lm-base")
    seen("path", "path", "bert")  # also a recorded use: usage has a last_used time
    seen("env", "env")
    history = seen("history", "history")
    assert history["events"], "lock and install are history"
    usage = seen("usage", "usage", "--since", "1d")
    assert usage["since"] is not None

    assert seen("check", "check", "--no-git")["passed"] is True
    report = kmenv("-C", example, "check", "--no-git", "--format", "json")
    assert document("check", report.out)["schema_version"] == SCHEMA_VERSION == VERSIONS["check"]

    seen("outdated", "outdated")
    seen("outdated", "outdated", "--exit-code", code=9)  # iris can move from 1 to 2
    seen("outdated-projects", "outdated", "--all-projects")
    seen("upgrade", "upgrade", "--dry-run")
    edit(spec, "logistic-regression@<2", "logistic-regression@>=1,<3")
    upgraded = seen("upgrade", "upgrade", "iris")
    assert upgraded["applied"] is True and upgraded["moves"]
    assert seen("rollback", "rollback")["direction"] == "back"
    seen("rollback", "rollback", "2")

    assert seen("validate", "validate")["ok"] is True
    weights = example / ".kmenv" / "models" / "iris" / "parameters.json"
    os.unlink(weights)
    broken = seen("validate", "validate", code=6)
    assert broken["problems"]
    assert seen("validate", "validate", "--repair")["repaired"] is not None

    seen("search", "search", "tiny")
    seen("show", "show", "kmenv-examples/tiny-bert")
    assert seen("show", "show", BERT)["chosen"] is not None
    seen("versions", "versions", BERT)
    seen("versions-diff", "versions", BERT, "--diff", "2", "3")
    seen("versions-files", "versions", f"{BERT}/3", "--files")
    seen("compare", "compare", "kmenv-examples/tiny-bert")

    seen("mirror", "mirror", "--to", tmp_path / "mirror", "--dry-run")
    seen("mirror", "mirror", "--to", tmp_path / "mirror")
    source = make_source(tmp_path / "source")
    seen("registry-build", "registry", "build", source, tmp_path / "built")

    seen("cache-info", "cache", "info")
    blobs = seen("cache-list", "cache", "list")["blobs"]
    seen("cache-verify", "cache", "verify")
    seen("cache-export", "cache", "export", tmp_path / "shared", "--dry-run")
    monkeypatch.setenv("KMENV_SHARED_CACHE", str(tmp_path / "shared"))
    seen("cache-export", "cache", "warm")
    digest = blobs[0]["sha256"]  # type: ignore[index]
    blob = next(p for p in (Path(os.environ["KMENV_CACHE_DIR"]) / "blobs").rglob(f"{digest}*") if p.is_file())
    blob.chmod(0o644)
    blob.write_bytes(b"damaged")  # a blob no longer matching its name (the environment is rebuilt before)
    damaged = seen("cache-verify", "cache", "verify", "--quarantine", code=6)
    assert damaged["damaged"] and damaged["damaged"][0]["moved_to"]  # type: ignore[index]
    seen("gc", "gc", "--dry-run")
    seen("gc", "gc", "--keep", "1")
    seen("gc", "cache", "prune")
    seen("cache-clean", "cache", "clean", "--dry-run")
    assert seen("cache-clean", "cache", "clean")["freed_bytes"] is not None

    doctor = kmenv("-C", example, "doctor", "--json")  # no Kaggle here: the API check fails, exit 8
    assert doctor.code in (0, 8)
    document("doctor", doctor.out)
    seen.kinds.add("doctor")

    failed = seen("error", "path", "nope", code=2)
    assert failed["exit_code"] == 2 and failed["error"]

    assert seen.kinds == set(DOCUMENTS) - KAGGLE_KINDS, "a kind without a run here or in the Kaggle test"


def test_the_kinds_and_their_versions_are_one_list() -> None:
    assert set(DOCUMENTS) == set(VERSIONS)
    assert all(isinstance(v, int) and v >= 1 for v in VERSIONS.values())


def test_a_document_is_checked_for_real() -> None:
    """The checker refuses a missing field, an unknown one, a time in another spelling and a licence key."""
    good = {"schema_version": 1, "name": "bert", "path": "/p"}
    document("path", json.dumps(good))
    for bad in (
        {"schema_version": 1, "name": "bert"},
        {**good, "extra": 1},
        {**good, "schema_version": 2},
    ):
        with pytest.raises(AssertionError):
            document("path", json.dumps(bad))
    event = {"time": "2026-12-02 01:23:45+00:00", "kind": "lock", "generation": None, "changes": [], "note": ""}
    with pytest.raises(AssertionError, match="time"):
        document("history", json.dumps({"schema_version": 1, "project": "/p", "events": [event]}))
    with pytest.raises(AssertionError):
        document("lock", json.dumps([]))
