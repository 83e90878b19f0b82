"""``kmenv export``: a CycloneDX 1.6 BOM valid against the official schema, and merged pip requirements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Runner
from packaging.requirements import Requirement


@pytest.fixture
def locked(example: Path, kmenv: Runner) -> Path:
    assert kmenv("-C", example, "lock").code == 0
    return example


def validate_cyclonedx(text: str) -> str | None:
    """The official CycloneDX 1.6 JSON schema (shipped by cyclonedx-python-lib); ``None`` when valid."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return None if error is None else str(error)


def test_cyclonedx_is_valid_and_describes_every_locked_model(locked: Path, kmenv: Runner) -> None:
    result = kmenv("-C", locked, "export", "--format", "cyclonedx")
    assert result.code == 0, result.err
    assert validate_cyclonedx(result.out) is None
    bom = json.loads(result.out)
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.6")
    models = {c["properties"][0]["value"]: c for c in bom["components"]}
    assert set(models) == {"adder", "bert", "chat", "iris", "tiny-lm-base"}
    assert {c["type"] for c in bom["components"]} == {"machine-learning-model"}
    adder = models["adder"]
    assert (adder["name"], adder["version"]) == ("kmenv-examples/bias-add/onnx/fp32", "2")
    assert adder["licenses"] == [{"license": {"id": "Apache-2.0", "acknowledgement": "declared"}}]
    assert adder["externalReferences"][0]["url"] == "../registry/models/kmenv-examples/bias-add/onnx/fp32.json"
    lock = json.loads((locked / "kmodels.lock").read_text(encoding="utf-8"))
    files = {f["name"]: f["hashes"][0]["content"] for f in adder["components"]}
    assert files == {f["path"]: f["sha256"] for f in lock["models"]["adder"]["files"]}
    dependencies = {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}
    assert dependencies["kmenv-model:chat"] == ["kmenv-model:tiny-lm-base"]
    assert "kmenv-model:tiny-lm-base" not in dependencies["kmenv-project"]  # a base is not a direct dependency


def test_cyclonedx_is_deterministic_and_the_validator_catches_mistakes(locked: Path, kmenv: Runner) -> None:
    first = kmenv("-C", locked, "export", "--format", "cyclonedx").out
    assert first == kmenv("-C", locked, "export", "--format", "cyclonedx").out
    broken = json.loads(first)
    broken["components"][0]["type"] = "model"
    assert validate_cyclonedx(json.dumps(broken)) is not None


def test_an_expression_and_an_exception_licence_in_the_bom(example: Path, kmenv: Runner, tmp_path: Path) -> None:
    spec = example / "kmodels.yaml"
    text = spec.read_text(encoding="utf-8").replace(
        "    unknown: deny\n",
        "    unknown: deny\n    exceptions:\n      - {model: adder, allow: [CC-BY-NC-4.0], reason: benchmark only}\n",
    )
    spec.write_text(text.replace("bias-add/onnx/fp32\n", "bias-add/onnx/fp32@>=3\n"), encoding="utf-8")
    assert kmenv("-C", example, "lock").code == 0
    out = tmp_path / "bom.json"
    assert kmenv("-C", example, "export", "--format", "cyclonedx", "--output", out).code == 0
    text = out.read_text(encoding="utf-8")
    assert validate_cyclonedx(text) is None
    adder = next(c for c in json.loads(text)["components"] if c["bom-ref"] == "kmenv-model:adder")
    assert adder["licenses"] == [{"license": {"id": "CC-BY-NC-4.0", "acknowledgement": "declared"}}]


def test_requirements_merge_every_models_libraries_for_pip(locked: Path, kmenv: Runner) -> None:
    result = kmenv("-C", locked, "export", "--format", "requirements")
    assert result.code == 0, result.err
    lines = [line for line in result.out.splitlines() if line and not line.startswith("#")]
    requirements = {Requirement(line.split("  #")[0]).name: line for line in lines}
    assert set(requirements) == {"onnxruntime", "peft", "scikit-learn", "torch", "transformers"}
    assert requirements["torch"].endswith("# bert, chat, tiny-lm-base")
    assert "# python>=3.9  (needed by tiny-lm-base)" in result.out


def test_export_needs_a_lock(example: Path, kmenv: Runner) -> None:
    result = kmenv("-C", example, "export", "--format", "requirements")
    assert result.code == 2 and "kmenv lock" in result.err
