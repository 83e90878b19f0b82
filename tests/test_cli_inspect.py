"""Inspection: list, tree, why and path, for people and (with --json) for scripts; and the Python API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Runner

import kmenv
from kmenv.errors import NotInstalledError


@pytest.fixture
def installed(example: Path, kmenv: Runner) -> Path:
    assert kmenv("-C", example, "install").code == 0
    return example


def test_list_shows_each_model_with_version_licence_size_and_path(installed: Path, kmenv: Runner) -> None:
    text = kmenv("-C", installed, "list").out
    assert text.splitlines()[0].split() == ["name", "handle", "version", "licence", "size", "path"]
    assert "tiny-lm-base (base)" in text
    rows = json.loads(kmenv("-C", installed, "list", "--json").out)["models"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["adder"]["version"] == 2 and by_name["adder"]["license"] == "Apache-2.0"
    assert Path(by_name["bert"]["path"]).is_dir()
    assert by_name["tiny-lm-base"]["direct"] is False


def test_list_before_install_says_not_installed(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "lock")
    assert "(not installed)" in kmenv("-C", example, "list").out


def test_tree_puts_base_models_under_their_fine_tunes(installed: Path, kmenv: Runner) -> None:
    lines = kmenv("-C", installed, "tree").out.splitlines()
    chat = next(i for i, line in enumerate(lines) if line.startswith("chat "))
    assert lines[chat + 1].startswith("└── tiny-lm-base ")
    assert "(base model of chat)" in lines[chat + 1]
    data = json.loads(kmenv("-C", installed, "tree", "--json").out)["models"]
    chat_node = next(n for n in data if n["name"] == "chat")
    assert [c["name"] for c in chat_node["children"]] == ["tiny-lm-base"]


def test_why_explains_the_chain(installed: Path, kmenv: Runner) -> None:
    out = kmenv("-C", installed, "why", "tiny-lm-base").out.strip()
    assert out == (
        "chat 3 is declared in kmodels.yaml as kmenv-examples/tiny-lm-lora/pyTorch/chat >=2"
        " → tiny-lm-base 3 is the base model of chat 3"
    )
    data = json.loads(kmenv("-C", installed, "why", "bert", "--json").out)
    assert data == {
        "schema_version": 1,
        "name": "bert",
        "chains": [["bert 3 is declared in kmodels.yaml as kmenv-examples/tiny-bert/transformers/base"]],
        "generation": 1,
        "source": "generation",
        "differences": [],
    }


def test_path_prints_an_absolute_folder(installed: Path, kmenv: Runner) -> None:
    out = kmenv("-C", installed, "path", "bert").out.strip()
    assert os.path.isabs(out) and (Path(out) / "config.json").is_file()
    assert json.loads(kmenv("-C", installed, "path", "bert", "--json").out)["path"] == out


def test_python_api_finds_models_from_inside_the_project(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(installed)
    folder = kmenv.path("bert")
    assert (folder / "config.json").is_file()
    assert kmenv.path("bert", project=installed / ".kmenv") == folder  # found upward from a subfolder
    with pytest.raises(NotInstalledError):
        kmenv.path("nope")
    with pytest.raises(LookupError):  # also speaks Python
        kmenv.path("../bert")


def test_project_api_locks_and_installs(example: Path) -> None:
    project = kmenv.Project(example)
    outcome = kmenv.install(project)
    assert outcome.switched and outcome.generation == 1
    assert set(project.read_lock().models) == {"adder", "bert", "chat", "iris", "tiny-lm-base"}  # type: ignore[union-attr]
    assert kmenv.path("chat", example).is_dir()


def test_init_writes_a_starter_that_parses(tmp_path: Path, kmenv: Runner) -> None:
    result = kmenv("-C", tmp_path, "init", "--registry", "../registry")
    assert result.code == 0, result.err
    text = (tmp_path / "kmodels.yaml").read_text()
    assert text.startswith("#") and "url: ../registry" in text
    again = kmenv("-C", tmp_path, "init")
    assert again.code == 2 and "--force" in again.err


def test_global_options_work_after_the_command_too(installed: Path, kmenv: Runner) -> None:
    assert kmenv("install", "-q", "-C", installed).out == ""
    assert kmenv("-C", installed, "list", "--no-color").code == 0
    # a command's own option of the same name keeps the command's meaning
    assert kmenv("-C", installed, "usage", "--project", installed, "--json").code == 0


def test_path_tells_an_undeclared_name_from_a_declared_one_not_installed(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "lock")
    undeclared = kmenv("-C", example, "path", "bret")
    assert undeclared.code == 2
    assert "no model named 'bret' is declared in kmodels.yaml" in undeclared.err
    assert "kmenv add" in undeclared.err and "run `kmenv install`" not in undeclared.err
    declared = kmenv("-C", example, "path", "bert")
    assert declared.code == 2
    assert "'bert' is declared in kmodels.yaml but not installed" in declared.err
    assert "run `kmenv install`" in declared.err
    base = kmenv("-C", example, "path", "tiny-lm-base")
    assert "locked as the base model of chat but not installed" in base.err
    with pytest.raises(NotInstalledError, match=r"is declared in kmodels\.yaml but not installed"):
        kmenv_api_path("bert", example)


def kmenv_api_path(name: str, project: Path) -> Path:
    """``kmenv.path`` (inside a test, ``kmenv`` names the CLI runner)."""
    return kmenv.path(name, project)


def test_remove_of_a_model_another_needs_as_its_base_says_what_stays(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "add", "kmenv-examples/tiny-lm/pyTorch/base", "--name", "lm").code == 0
    lock = json.loads((example / "kmodels.lock").read_text())
    assert lock["models"]["chat"]["base"] == "lm"
    removed = kmenv("-C", example, "remove", "lm")
    assert removed.code == 0, removed.err
    assert "warning: lm is the base model of chat: it stays locked and installed as its base" in removed.err
    assert "kmenv.path('lm') will no longer find it" in removed.err
    lock = json.loads((example / "kmodels.lock").read_text())
    assert lock["models"]["chat"]["base"] == "tiny-lm-base" and "lm" not in lock["models"]


def test_remove_of_a_base_model_never_declared_names_the_fine_tune(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "lock").code == 0
    before = (example / "kmodels.yaml").read_text()
    result = kmenv("-C", example, "remove", "tiny-lm-base")
    assert result.code == 2
    assert "'tiny-lm-base' is not declared in kmodels.yaml: it is locked as the base model of chat" in result.err
    assert "remove chat to drop it" in result.err
    assert (example / "kmodels.yaml").read_text() == before


def test_the_same_instance_under_two_names_is_warned_about(example: Path, kmenv: Runner) -> None:
    spec = example / "kmodels.yaml"
    # a partial handle (owner/model) that resolves to the instance `bert` declares in full
    spec.write_text(spec.read_text() + "  bert-again: kmenv-examples/tiny-bert\n")
    result = kmenv("-C", example, "install")
    assert result.code == 0, result.err
    assert (
        "warning: bert and bert-again are the same instance kmenv-examples/tiny-bert/transformers/base "
        "(registry 'example'): it is locked and installed once per name"
    ) in result.err
    assert "are the same instance" in kmenv("-C", example, "lock").err
