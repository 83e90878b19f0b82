"""``kmenv search/show/versions/compare`` over any registry: the bundled example's static registry, a project's
registries, ``--registry``, metrics and training data, and the framework table applied to every registry."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kmenv.errors import RegistryDocumentError
from kmenv.registry.memory import MemoryRegistry
from kmenv.registry.static.build import RegistrySourceError, build_registry
from kmenv.registry.static.documents import parse_instance
from kmenv.values.candidates import BaseModelRef, Candidate, FileEntry
from kmenv.values.discovery import ModelQuery
from kmenv.values.handles import Handle

if TYPE_CHECKING:
    from conftest import Runner

BERT = "kmenv-examples/tiny-bert/transformers/base"
IRIS = "kmenv-examples/iris/scikitLearn/logistic-regression"
EXAMPLE_MODELS = [
    "kmenv-examples/bias-add",
    "kmenv-examples/flower-classifier",
    "kmenv-examples/iris",
    "kmenv-examples/tiny-bert",
    "kmenv-examples/tiny-gemma",
    "kmenv-examples/tiny-lm",
    "kmenv-examples/tiny-lm-lora",
]


def test_search_in_a_project_whose_only_registry_is_the_example_lists_its_models(example: Path, kmenv: Runner) -> None:
    table = kmenv("search", cwd=example)
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split()[:3] == ["handle", "title", "frameworks"]
    assert [line.split()[0] for line in lines[1:]] == EXAMPLE_MODELS
    data = json.loads(kmenv("-C", example, "search", "bert", "--json").out)
    assert [(m["handle"], m["registry"]) for m in data["models"]] == [("kmenv-examples/tiny-bert", "example")]
    assert data["models"][0]["frameworks"] == ["transformers"] and data["models"][0]["licenses"] == ["Apache 2.0"]
    assert data["total"] == 1 and data["more"] is False
    mit = json.loads(kmenv("-C", example, "search", "--license", "MIT", "--json").out)
    assert [m["handle"] for m in mit["models"]] == ["kmenv-examples/iris", "kmenv-examples/tiny-lm-lora"]
    limited = json.loads(kmenv("-C", example, "search", "--limit", "2", "--json").out)
    assert len(limited["models"]) == 2 and limited["more"] is True and limited["total"] == 7


def test_registry_option_picks_a_declared_one_a_folder_or_refuses_an_unknown_name(
    example: Path, kmenv: Runner, tmp_path: Path
) -> None:
    picked = json.loads(kmenv("-C", example, "search", "--registry", "example", "--json").out)
    assert len(picked["models"]) == 7
    unknown = kmenv("-C", example, "search", "--registry", "nope")
    assert unknown.code == 2 and "unknown registry 'nope'" in unknown.err and "example, kaggle" in unknown.err
    # outside any project: a static registry's folder, named directly
    outside = kmenv("search", "--registry", example.parent / "registry", "--json", cwd=tmp_path)
    assert outside.code == 0, outside.err
    assert [m["handle"] for m in json.loads(outside.out)["models"]] == EXAMPLE_MODELS


def test_show_owner_model_gives_the_card_and_every_instance_and_a_handle_gives_its_version(
    example: Path, kmenv: Runner
) -> None:
    card = kmenv("-C", example, "show", "kmenv-examples/tiny-lm-lora")
    assert card.code == 0, card.err
    assert "Tiny LM chat adapter (kmenv-examples/tiny-lm-lora)" in card.out
    assert "registry: example" in card.out and "A LoRA adapter (rank 2)" in card.out
    assert (
        "kmenv-examples/tiny-lm-lora/pyTorch/chat" in card.out
        and "kmenv-examples/tiny-lm/pyTorch/base (>=2)" in card.out
    )
    data = json.loads(kmenv("-C", example, "show", "kmenv-examples/tiny-lm-lora", "--json").out)
    assert data["chosen"] is None and data["registry"] == "example" and len(data["instances"]) == 1
    assert data["instances"][0]["requires"] == {"peft": ">=0.10", "torch": ""}
    old = json.loads(kmenv("-C", example, "show", f"{BERT}/2", "--json").out)
    assert old["chosen"] == {"handle": f"{BERT}/2", "version": 2}
    assert old["requires"] == {"torch": "", "transformers": ">=4.30"}  # version 4 needs >=4.50: this is 2's own
    assert [(m["metric"], m["value"]) for m in old["metrics"]] == [("accuracy", 0.74), ("f1", 0.72)]
    assert old["metrics_note"] is None
    text = kmenv("-C", example, "show", IRIS)
    assert "training data:\n  - https://archive.ics.uci.edu/dataset/53/iris" in text.out
    assert "  accuracy on iris: 0.967  (illustrative figure: the example's weights are random)" in text.out
    assert "requires: scikit-learn>=1.3" in text.out
    missing = kmenv("-C", example, "show", "kmenv-examples/tiny-bertt")
    assert missing.code == 2 and "did you mean kmenv-examples/tiny-bert" in missing.err
    no_version = kmenv("-C", example, "show", f"{BERT}/9")
    assert no_version.code == 2 and "has no version 9" in no_version.err


def test_versions_has_a_column_per_metric_and_the_requirements_of_each_version(example: Path, kmenv: Runner) -> None:
    table = kmenv("-C", example, "versions", BERT)
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["version", "files", "size", "license", "requires", "accuracy@glue/sst2", "f1@glue/sst2"]
    assert lines[1].split()[:2] == ["4", "(latest)"] and lines[1].split()[-2:] == ["0.79", "0.77"]
    assert "transformers>=4.50" in lines[1] and "transformers>=4.30" in lines[2]
    assert lines[4].split()[-2:] == ["0.71", "0.68"]
    data = json.loads(kmenv("-C", example, "versions", BERT, "--json").out)
    assert data["registry"] == "example" and data["metrics"] == ["accuracy@glue/sst2", "f1@glue/sst2"]
    assert [v["version"] for v in data["versions"]] == [4, 3, 2, 1]
    assert data["versions"][0]["metrics"][0] == {
        "dataset": "glue/sst2",
        "metric": "accuracy",
        "value": 0.79,
        "source": "illustrative figure: the example's weights are random",
    }
    none = kmenv("-C", example, "versions", "kmenv-examples/tiny-gemma/gguf/q8_0")
    assert "metrics: none published for any version" in none.out
    iris = kmenv("-C", example, "versions", IRIS)
    assert "training data (every version): https://archive.ics.uci.edu/dataset/53/iris" in iris.out


def test_versions_diff_on_a_static_registry_compares_by_sha256(example: Path, kmenv: Runner) -> None:
    diff = kmenv("-C", example, "versions", "kmenv-examples/bias-add/onnx/fp32", "--diff", "2", "3")
    assert diff.code == 0, diff.err
    assert "~ README.md (437 B → 548 B)" in diff.out and "1 file unchanged (1 by sha256)" in diff.out
    assert "license: Apache 2.0 → Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)" in diff.out
    data = json.loads(kmenv("-C", example, "versions", BERT, "--diff", "3", "4", "--json").out)
    assert data["compared"]["size"] == 0 and data["registry"] == "example"
    requires = kmenv("-C", example, "versions", BERT, "--diff", "3", "4")
    assert "requires transformers: >=4.30 → >=4.50" in requires.out


def test_compare_puts_versions_side_by_side_by_metric(example: Path, kmenv: Runner) -> None:
    table = kmenv("-C", example, "compare", f"{IRIS}/1", IRIS, "kmenv-examples/flower-classifier")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["version", "license", "size", "accuracy@iris", "log_loss@iris"]
    assert [line.split()[0] for line in lines[1:]] == [
        f"{IRIS}/1",
        f"{IRIS}/2",
        "kmenv-examples/flower-classifier/keras/mobile/2",
    ]
    assert lines[1].split()[-2:] == ["0.953", "0.197"] and lines[3].split()[-2:] == ["0.933", "-"]
    only = json.loads(kmenv("-C", example, "compare", f"{BERT}/1", BERT, "--metric", "f1", "--json").out)
    assert only["columns"] == ["f1@glue/sst2"]
    assert [v["metrics"]["f1@glue/sst2"] for v in only["versions"]] == [0.68, 0.77]
    absent = kmenv("-C", example, "compare", BERT, "--metric", "bleu")
    assert absent.code == 0 and "no version compared publishes the metric 'bleu'" in absent.out


def test_frameworks_json_applies_to_static_registries_too(example: Path, kmenv: Runner) -> None:
    config = Path(os.environ["KMENV_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "frameworks.json").write_text('{"transformers": {"transformers": "", "tokenizers": ">=0.15"}}')
    data = json.loads(kmenv("-C", example, "versions", BERT, "--json").out)
    assert data["versions"][0]["requires"] == {"tokenizers": ">=0.15", "transformers": ">=4.50"}
    # the resolver applies the same table: the project's environment has no tokenizers, so bert cannot be locked
    refused = kmenv("-C", example, "lock")
    assert refused.code == 3 and "set environment.packages.tokenizers to >=0.15" in refused.err


def test_build_carries_metrics_and_training_data_through_and_refuses_bad_ones(tmp_path: Path) -> None:
    source = tmp_path / "src" / "acme" / "m" / "onnx" / "v"
    (source / "1").mkdir(parents=True)
    (source / "1" / "model.onnx").write_bytes(b"onnx")
    meta: dict[str, object] = {
        "license": "MIT",
        "published": "2024-01-01T00:00:00Z",
        "metrics": [{"dataset": "imagenet", "metric": "top1", "value": 71.5, "source": "https://example.org/eval"}],
        "training_data": ["https://example.org/imagenet"],
    }
    (source / "1" / "version.json").write_text(json.dumps(meta))
    build_registry(tmp_path / "src", tmp_path / "out", name="acme")
    document = json.loads((tmp_path / "out" / "models/acme/m/onnx/v.json").read_text())
    assert document["versions"][0]["metrics"] == meta["metrics"]
    assert document["versions"][0]["training_data"] == meta["training_data"]
    meta["metrics"] = [{"dataset": "imagenet", "metric": "top1", "value": "high"}] * 2
    (source / "1" / "version.json").write_text(json.dumps(meta))
    with pytest.raises(RegistrySourceError) as caught:
        build_registry(tmp_path / "src", tmp_path / "out2", name="acme")
    assert "metrics" in str(caught.value) and caught.value.hint is not None and '"metrics": [{' in caught.value.hint


def test_a_version_document_with_a_duplicate_or_infinite_metric_is_refused() -> None:
    version = {"version": 1, "license": None, "published": "2024-01-01T00:00:00Z", "files": []}
    doc = {"format": 1, "handle": "a/b/onnx/v", "versions": [version]}
    twice = {"dataset": "d", "metric": "m", "value": 1}
    with pytest.raises(RegistryDocumentError, match="appears more than once"):
        parse_instance({**doc, "versions": [{**version, "metrics": [twice, twice]}]}, "doc.json")
    with pytest.raises(RegistryDocumentError, match="finite"):
        parse_instance({**doc, "versions": [{**version, "metrics": [{**twice, "value": float("inf")}]}]}, "doc.json")


def test_the_protocol_defaults_make_any_registry_discoverable() -> None:
    files = (FileEntry("w.bin", 3, "a" * 64), FileEntry("c.json", 2, "b" * 64))
    base = BaseModelRef(Handle.parse("acme/base"), "")
    registry = MemoryRegistry(
        "mem",
        [
            Candidate(Handle.parse("acme/m/onnx/v/1"), "mem", "MIT", files=files[:1], title="M"),
            Candidate(Handle.parse("acme/m/onnx/v/2"), "mem", "MIT", files=files, base=base, requires={"x": ">=1"}),
        ],
    )
    model = registry.describe_model("acme", "m")
    assert (model.title, model.registry, [str(i.handle) for i in model.instances]) == ("m", "mem", ["acme/m/onnx/v"])
    assert model.instances[0].base == "acme/base" and model.instances[0].size == 5
    rows = registry.describe_versions(Handle.parse("acme/m/onnx/v"))
    assert [(r.version, r.latest, r.files, r.size) for r in rows] == [(2, True, 2, 5), (1, False, 1, 3)]
    listed = registry.version_files(Handle.parse("acme/m/onnx/v/1"))
    assert [(f.path, f.digests["sha256"]) for f in listed] == [("w.bin", "a" * 64)]
    assert list(registry.search_models(ModelQuery())) == []  # the four query methods cannot list a registry
