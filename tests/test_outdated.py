"""``kmenv outdated`` against a static registry where newer versions appear between steps.

:class:`Lab` is a project and its own registry: ``publish`` adds a version to the registry's
source folder and rebuilds it, exactly as a publisher would. The other upgrade and usage tests
reuse it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Runner
from json_documents import document as checked_document

from kmenv.registry.static.build import build_registry

SPEC = """\
# The lab project: three models and a fine-tune's base.
version: 1

registries:
  lab:
    url: ../registry   # built by the test from ../source

environment:
  python: "3.11"
  packages:
    torch: "2.3.1"
    transformers: "4.44.2"
    onnxruntime: "1.18.1"

policy:
  licenses:
    allow: [Apache-2.0, MIT]   # nothing non-commercial

models:
  # held below 3 on purpose: version 3 changed the tokenizer
  encoder: acme/encoder/pyTorch/base@<3
  chat:
    handle: acme/chat/pyTorch/lora
    version: ">=1"      # any version
  vision: acme/vision/onnx/small   # no constraint at all
"""


class Lab:
    """A project folder (``lab/``) with a registry (``registry/``) built from ``source/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.source = root / "source"
        self.registry = root / "registry"
        self.project = root / "lab"

    def publish(
        self,
        handle: str,
        version: int,
        *,
        license: str | None = "Apache 2.0",
        requires: dict[str, str] | None = None,
        base: tuple[str, str] | None = None,
        size: int = 64,
    ) -> None:
        """Add one version (a config file and a weights file of ``size`` bytes) and rebuild the registry."""
        folder = self.source.joinpath(*handle.split("/"), str(version))
        folder.mkdir(parents=True)
        meta: dict[str, object] = {"license": license, "published": f"2026-0{min(version, 9)}-01T00:00:00Z"}
        if requires:
            meta["requires"] = requires
        if base:
            meta["base"] = {"handle": base[0], "versions": base[1]}
        (folder / "version.json").write_text(json.dumps(meta))
        (folder / "config.json").write_text(json.dumps({"model": handle, "version": version}))
        (folder / "weights.bin").write_bytes(f"{handle}:{version}:".encode().ljust(size, b"\0"))
        build_registry(self.source, self.registry, name="lab")

    def lock_json(self) -> dict[str, dict[str, object]]:
        models: dict[str, dict[str, object]] = json.loads((self.project / "kmodels.lock").read_text())["models"]
        return models

    def versions(self) -> dict[str, object]:
        return {name: model["version"] for name, model in self.lock_json().items()}


def installed_lab(tmp_path: Path, kmenv: Runner) -> Lab:
    """The lab installed at its first versions: encoder 2, chat 1 (on lm-base 2), vision 1."""
    lab = Lab(tmp_path)
    lab.publish("acme/encoder/pyTorch/base", 1)
    lab.publish("acme/encoder/pyTorch/base", 2)
    lab.publish("acme/lm/pyTorch/base", 1)
    lab.publish("acme/lm/pyTorch/base", 2)
    lab.publish("acme/chat/pyTorch/lora", 1, license="MIT", base=("acme/lm/pyTorch/base", ">=1"))
    lab.publish("acme/vision/onnx/small", 1, license="MIT")
    lab.project.mkdir()
    (lab.project / "kmodels.yaml").write_text(SPEC)
    result = kmenv("-C", lab.project, "install")
    assert result.code == 0, result.err
    assert lab.versions() == {"encoder": 2, "chat": 1, "lm-base": 2, "vision": 1}
    return lab


@pytest.fixture
def lab(tmp_path: Path, kmenv: Runner) -> Lab:
    return installed_lab(tmp_path, kmenv)


def publish_round_two(lab: Lab) -> None:
    """Newer versions appear: each one is out of reach for a different reason, or within reach."""
    lab.publish("acme/encoder/pyTorch/base", 3)  # excluded by the constraint <3 only
    lab.publish("acme/lm/pyTorch/base", 3)
    lab.publish("acme/chat/pyTorch/lora", 2, license="MIT", base=("acme/lm/pyTorch/base", ">=3"))  # forces lm 3
    lab.publish("acme/chat/pyTorch/lora", 3, license="MIT", requires={"transformers": ">=4.50"})  # environment
    lab.publish("acme/vision/onnx/small", 2, license="Apache 2.0")  # fits, under another licence
    lab.publish("acme/vision/onnx/small", 3, license="CC BY-NC 4.0")  # the policy refuses it


def by_name(document: dict[str, object]) -> dict[str, dict[str, object]]:
    models = document["models"]
    assert isinstance(models, list)
    return {m["name"]: m for m in models}


def test_nothing_is_outdated_before_new_versions_appear(lab: Lab, kmenv: Runner) -> None:
    result = kmenv("-C", lab.project, "outdated", "--exit-code")
    assert result.code == 0, result.err
    assert all(line.endswith("up to date") for line in result.out.splitlines()[1:])


def test_three_columns_and_the_reason_latest_is_out_of_reach(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    result = kmenv("-C", lab.project, "outdated", "--json")
    assert result.code == 0, result.err
    models = by_name(json.loads(result.out))
    columns = {n: (m["current"], m["compatible"], m["latest"], m["status"]) for n, m in models.items()}
    assert columns == {
        "encoder": (2, 2, 3, "constrained"),
        "chat": (1, 2, 3, "upgradable"),
        "lm-base": (2, 3, 3, "upgradable"),
        "vision": (1, 2, 3, "upgradable"),
    }
    assert models["encoder"]["blockers"] == ["constraint"]
    assert models["encoder"]["reasons"] == ["version 3 is excluded by kmodels.yaml models.encoder: <3"]
    assert models["chat"]["blockers"] == ["environment"]
    assert models["chat"]["reasons"] == ["version 3 needs transformers>=4.50, environment has transformers 4.44.2"]
    assert models["vision"]["blockers"] == ["license"]
    assert "CC-BY-NC-4.0" in models["vision"]["reasons"][0]
    assert models["vision"]["license_change"] == {"from": "MIT", "to": "Apache-2.0"}
    assert models["chat"]["license_change"] is None
    assert models["lm-base"]["direct"] is False


def test_exit_code_and_the_table(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    result = kmenv("-C", lab.project, "outdated", "--exit-code")
    assert result.code == 9  # EXIT_OUTDATED: distinct from 1, an unexpected failure
    lines = result.out.splitlines()
    assert lines[0].split() == ["name", "current", "compatible", "latest", "status"]
    assert lines[1].split() == ["chat", "1", "2", "3", "upgradable"]
    assert "  encoder: version 3 is excluded by kmodels.yaml models.encoder: <3" in lines
    assert "  vision: licence changes MIT → Apache-2.0" in lines
    assert kmenv("-C", lab.project, "outdated").code == 0  # without --exit-code it is only a report


def test_a_model_held_back_by_licence_alone_is_not_outdated(lab: Lab, kmenv: Runner) -> None:
    lab.publish("acme/vision/onnx/small", 2, license="CC BY-NC 4.0")
    result = kmenv("-C", lab.project, "outdated", "vision", "--exit-code", "--json")
    assert result.code == 0, result.out
    (vision,) = json.loads(result.out)["models"]
    assert (vision["compatible"], vision["latest"], vision["status"]) == (1, 2, "held back")
    assert vision["license"]["latest"] == "CC-BY-NC-4.0"


def test_a_base_model_out_of_reach_is_named(lab: Lab, kmenv: Runner) -> None:
    lab.publish("acme/lm/pyTorch/base", 3, license="CC BY-NC 4.0")
    lab.publish("acme/chat/pyTorch/lora", 2, license="MIT", base=("acme/lm/pyTorch/base", ">=3"))
    (chat,) = json.loads(kmenv("-C", lab.project, "outdated", "chat", "--json").out)["models"]
    assert (chat["current"], chat["compatible"], chat["latest"]) == (1, 1, 2)
    assert chat["blockers"] == ["base model"]
    assert "needs base model acme/lm/pyTorch/base>=3" in chat["reasons"][0]


def test_unknown_names_are_a_usage_error(lab: Lab, kmenv: Runner) -> None:
    result = kmenv("-C", lab.project, "outdated", "nope")
    assert result.code == 2
    assert "no model named 'nope'" in result.err and "chat" in result.err


def test_outdated_writes_nothing_and_works_offline(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    before = (lab.project / "kmodels.lock").read_bytes(), (lab.project / "kmodels.yaml").read_bytes()
    result = kmenv("--offline", "-C", lab.project, "outdated", "--json")
    assert result.code == 0, result.err
    assert by_name(json.loads(result.out))["chat"]["compatible"] == 2
    assert ((lab.project / "kmodels.lock").read_bytes(), (lab.project / "kmodels.yaml").read_bytes()) == before


def test_all_projects_covers_every_known_project_and_skips_vanished_ones(
    lab: Lab, kmenv: Runner, tmp_path: Path
) -> None:
    publish_round_two(lab)
    other = tmp_path / "other"
    other.mkdir()
    (other / "kmodels.yaml").write_text(SPEC.replace("acme/encoder/pyTorch/base@<3", "acme/encoder/pyTorch/base"))
    assert kmenv("-C", other, "lock").code == 0
    gone = tmp_path / "gone"
    gone.mkdir()
    (gone / "kmodels.yaml").write_text(SPEC)
    assert kmenv("-C", gone, "lock").code == 0
    (gone / "kmodels.yaml").unlink()

    result = kmenv("outdated", "--all-projects", "--json", "--exit-code")
    assert result.code == 9
    projects = {p["project"]: p for p in checked_document("outdated-projects", result.out)["projects"]}
    assert set(projects) == {str(lab.project), str(other), str(gone)}
    assert projects[str(gone)]["skipped"] == "no kmodels.yaml there any more"
    assert by_name(projects[str(other)])["encoder"]["current"] == 3  # unconstrained, it locked 3 itself
    assert by_name(projects[str(lab.project)])["encoder"]["current"] == 2

    text = kmenv("outdated", "--all-projects")
    assert f"{gone}\n  skipped: no kmodels.yaml there any more" in text.out
