"""Discovery in a project with two registries, Kaggle and the bundled example: both are asked, in file order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from kaggle_emulator import KaggleEmulator

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

SPEC = """version: 1
registries:
  example:
    url: ../registry
  kg:
    type: kaggle
models: {}
"""


def test_search_show_and_versions_ask_every_declared_registry(
    emulator: KaggleEmulator, example: Path, kmenv: Runner
) -> None:
    (example / "kmodels.yaml").write_text(SPEC)
    table = kmenv("-C", example, "search", "--all")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split()[:2] == ["registry", "handle"]
    registries = [line.split()[0] for line in lines[1:]]
    assert registries == ["example"] * 7 + ["kg"] * 5  # file order: the example first, then Kaggle
    bert = json.loads(kmenv("-C", example, "show", "keras/bert", "--json").out)
    assert bert["registry"] == "kg" and bert["metrics_note"].startswith("metrics are not published by Kaggle")
    iris = json.loads(kmenv("-C", example, "show", "kmenv-examples/iris", "--json").out)
    assert iris["registry"] == "example" and iris["metrics_note"] is None
    only = json.loads(kmenv("-C", example, "search", "--registry", "kg", "--json").out)
    assert {m["registry"] for m in only["models"]} == {"kg"}
    missing = kmenv("-C", example, "show", "nobody/nothing")
    assert missing.code == 2 and "(asked example, kg)" in missing.err
    # --refresh reaches the Kaggle registry of a project too
    before = len(emulator.requests_to("GetModel"))
    assert kmenv("-C", example, "show", "keras/bert", "--refresh").code == 0
    assert len(emulator.requests_to("GetModel")) == before + 1


def test_a_model_kaggle_lacks_is_taken_from_the_next_registry(
    emulator: KaggleEmulator, example: Path, kmenv: Runner
) -> None:
    kaggle_first = "version: 1\nregistries:\n  kg:\n    type: kaggle\n  example:\n    url: ../registry\nmodels: {}\n"
    (example / "kmodels.yaml").write_text(kaggle_first)
    iris = kmenv("-C", example, "versions", "kmenv-examples/iris/scikitLearn/logistic-regression", "--json")
    assert iris.code == 0, iris.err
    assert json.loads(iris.out)["registry"] == "example"
