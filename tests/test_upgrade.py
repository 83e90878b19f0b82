"""``kmenv upgrade``: only what is named moves (with what it forces), ``--latest`` edits kmodels.yaml in place,
the plan comes first, and the previous generation stays for rollback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Runner
from json_documents import document as checked_document
from test_outdated import Lab, installed_lab, publish_round_two

from kmenv.actions.upgrade import widen
from kmenv.ledger.database import read_events


@pytest.fixture
def lab(tmp_path: Path, kmenv: Runner) -> Lab:
    return installed_lab(tmp_path, kmenv)


def generation(lab: Lab) -> str:
    return os.readlink(lab.project / ".kmenv" / "models")


@pytest.mark.parametrize(
    ("versions", "newest", "widened"),
    [(">=1,<3", 4, ">=1"), ("==2", 5, ""), ("", 3, ""), (">=2,!=4", 4, ">=2"), (">=1,<9", 4, ">=1,<9")],
)
def test_widen_drops_only_the_clauses_that_exclude_the_newest(versions: str, newest: int, widened: str) -> None:
    assert widen(versions, newest) == widened


def test_upgrading_one_model_moves_it_and_what_it_forces_only(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    result = kmenv("-C", lab.project, "upgrade", "chat")
    assert result.code == 0, result.err
    assert "  chat: 1 → 2" in result.out.splitlines()[0]
    assert "  lm-base: 2 → 3" in result.out
    # vision 2 would fit too, but it was not named: it keeps its locked version
    assert lab.versions() == {"encoder": 2, "chat": 2, "lm-base": 3, "vision": 1}
    assert generation(lab) == "generations/2"
    assert "generation 2" in result.out and "rollback" in result.out
    moves = [(e.model, e.previous, e.version) for e in read_events(project=lab.project, kinds=["upgrade"])]
    assert moves == [("chat", 1, 2), ("lm-base", 2, 3)]


def test_the_plan_shows_versions_licences_and_sizes(lab: Lab, kmenv: Runner) -> None:
    lab.publish("acme/vision/onnx/small", 2, license="Apache 2.0", size=2048)
    result = kmenv("-C", lab.project, "upgrade", "vision", "--dry-run")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("  vision: 1 → 2  (+1.9 KiB)  licence MIT → Apache-2.0")
    assert lines[1].startswith("Download 2.0 KiB; installed size +1.9 KiB")
    assert lines[-1] == "Dry run: nothing was changed."
    assert lab.versions()["vision"] == 1 and generation(lab) == "generations/1"


def test_dry_run_json_is_the_plan(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    before = (lab.project / "kmodels.lock").read_bytes()
    plan = json.loads(kmenv("-C", lab.project, "upgrade", "--dry-run", "--json").out)
    assert plan["applied"] is False
    assert {m["name"]: (m["old"], m["new"]) for m in plan["moves"]} == {
        "chat": (1, 2),
        "lm-base": (2, 3),
        "vision": (1, 2),
    }
    assert {m["name"] for m in plan["moves"] if m["license_changed"]} == {"vision"}
    assert plan["download"] > 0
    assert (lab.project / "kmodels.lock").read_bytes() == before


def test_without_names_everything_moves_within_constraints(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    assert kmenv("-C", lab.project, "upgrade").code == 0
    assert lab.versions() == {"encoder": 2, "chat": 2, "lm-base": 3, "vision": 2}  # encoder is held by <3


def test_latest_rewrites_the_constraint_and_keeps_every_comment(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    spec = lab.project / "kmodels.yaml"
    before = spec.read_text()
    result = kmenv("-C", lab.project, "upgrade", "encoder", "--latest")
    assert result.code == 0, result.err
    assert "kmodels.yaml models.encoder: <3 → (any) (admits 3)" in result.out
    after = spec.read_text()
    assert after == before.replace("acme/encoder/pyTorch/base@<3", "acme/encoder/pyTorch/base")
    assert "# held below 3 on purpose: version 3 changed the tokenizer" in after
    assert lab.versions() == {"encoder": 3, "chat": 1, "lm-base": 2, "vision": 1}
    assert kmenv("-C", lab.project, "install", "--locked").code == 0  # lock and kmodels.yaml agree


def test_latest_keeps_the_lower_bounds_and_quoting(lab: Lab, kmenv: Runner) -> None:
    spec = lab.project / "kmodels.yaml"
    spec.write_text(spec.read_text().replace('version: ">=1"      # any version', 'version: ">=1,<2"   # for now'))
    assert kmenv("-C", lab.project, "lock").code == 0
    publish_round_two(lab)
    assert kmenv("-C", lab.project, "upgrade", "chat", "--latest", "--no-install").code == 0
    assert '    version: ">=1"   # for now\n' in spec.read_text()
    assert lab.versions()["chat"] == 2  # 3 is admitted now, but the environment still rules it out
    assert generation(lab) == "generations/1"  # --no-install


def test_nothing_to_upgrade(lab: Lab, kmenv: Runner) -> None:
    result = kmenv("-C", lab.project, "upgrade", "vision")
    assert result.code == 0
    assert result.out.strip() == "Nothing to upgrade: every model is at the newest version its constraints allow."
    assert generation(lab) == "generations/1"


def test_upgrade_of_an_unknown_model_is_a_usage_error(lab: Lab, kmenv: Runner) -> None:
    result = kmenv("-C", lab.project, "upgrade", "visoin")
    assert result.code == 2
    assert "no model named 'visoin'" in result.err


def test_rollback_restores_the_generation_before_the_upgrade(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    old_file = (lab.project / ".kmenv" / "models" / "vision" / "config.json").read_text()
    assert kmenv("-C", lab.project, "upgrade", "vision").code == 0
    assert json.loads((lab.project / ".kmenv" / "models" / "vision" / "config.json").read_text())["version"] == 2
    result = kmenv("-C", lab.project, "rollback")
    assert result.code == 0, result.err
    assert generation(lab) == "generations/1"
    assert (lab.project / ".kmenv" / "models" / "vision" / "config.json").read_text() == old_file


def test_a_declared_base_moves_with_the_fine_tune_that_needs_it(lab: Lab, kmenv: Runner) -> None:
    spec = lab.project / "kmodels.yaml"
    # named so that it sorts before chat: the resolver then settles it first
    spec.write_text(spec.read_text() + "  base: acme/lm/pyTorch/base   # declared by the project itself\n")
    assert kmenv("-C", lab.project, "lock").code == 0
    assert lab.versions() == {"encoder": 2, "chat": 1, "base": 2, "vision": 1}
    publish_round_two(lab)
    result = kmenv("-C", lab.project, "upgrade", "chat", "--no-install")
    assert result.code == 0, result.err
    assert lab.versions() == {"encoder": 2, "chat": 2, "base": 3, "vision": 1}


def test_a_base_that_still_fits_stays(lab: Lab, kmenv: Runner) -> None:
    lab.publish("acme/lm/pyTorch/base", 3)
    lab.publish("acme/chat/pyTorch/lora", 2, license="MIT", base=("acme/lm/pyTorch/base", ">=2"))
    assert kmenv("-C", lab.project, "upgrade", "chat", "--no-install").code == 0
    assert lab.versions() == {"encoder": 2, "chat": 2, "lm-base": 2, "vision": 1}


def test_json_after_applying_is_one_document(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    result = kmenv("-C", lab.project, "upgrade", "vision", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert (document["applied"], document["generation"]) == (True, 2)
    assert [(m["name"], m["old"], m["new"]) for m in document["moves"]] == [("vision", 1, 2)]


def test_dry_run_writes_no_blob_file_or_ledger_event(lab: Lab, kmenv: Runner, isolated_dirs: Path) -> None:
    publish_round_two(lab)
    blobs = lambda: sorted(p.name for p in (isolated_dirs / "cache").rglob("blobs/sha256/*/*"))  # noqa: E731
    files = lambda: {p: p.read_bytes() for p in sorted(lab.project.rglob("*")) if p.is_file()}  # noqa: E731
    stored, before, events = blobs(), files(), len(read_events(project=lab.project))
    result = kmenv("-C", lab.project, "upgrade", "--latest", "--dry-run")
    assert result.code == 0, result.err
    assert "Download " in result.out and "at most" not in result.out  # a static registry lists every sha256
    assert (blobs(), files(), len(read_events(project=lab.project))) == (stored, before, events)
    assert generation(lab) == "generations/1"
    planned = checked_document("upgrade", kmenv("-C", lab.project, "upgrade", "--latest", "--dry-run", "--json").out)
    assert planned["constraints"] and planned["applied"] is False  # the constraint edits, as the schema has them


def test_a_dry_run_plan_cannot_be_applied(lab: Lab) -> None:
    from kmenv.actions.project import Runtime
    from kmenv.actions.upgrade import apply_upgrade, plan_upgrade
    from kmenv.errors import UsageError

    publish_round_two(lab)
    project = Runtime().project(lab.project)
    plan = plan_upgrade(project, ["vision"], dry_run=True)
    assert plan.dry_run and [(m.name, m.new) for m in plan.moves] == [("vision", 2)]
    with pytest.raises(UsageError, match="dry-run"):
        apply_upgrade(project, plan)
    assert lab.versions()["vision"] == 1
