"""Editing kmodels.yaml: the starter file, `kmenv add` and `kmenv remove` change only the lines they must."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from kmenv.errors import NotInstalledError, SpecError, UsageError
from kmenv.spec.document import parse_spec
from kmenv.spec.edit import add_model, default_name, remove_model, starter_text
from kmenv.values.handles import Handle

COMMENTED = (Path(__file__).parent / "data" / "spec" / "commented.yaml").read_text(encoding="utf-8")


def changed_lines(before: str, after: str) -> list[str]:
    """The +/- lines of a diff, without context: what an edit really touched."""
    diff = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


# --- the starter file -----------------------------------------------------------------------------------------------


def test_the_starter_file_parses_and_declares_nothing_yet() -> None:
    spec = parse_spec(starter_text())

    assert spec.declared_models() == ()
    assert spec.default_registry() == "kaggle"
    assert spec.environment is None and spec.policy is None


@pytest.mark.parametrize(
    ("url", "name"),
    [("../registry", "local"), ("file:///srv/registry", "local"), ("https://models.example.com/r", "mirror")],
)
def test_a_starter_file_with_a_registry_makes_it_the_default(url: str, name: str) -> None:
    spec = parse_spec(starter_text(url))

    assert [(r.name, r.type, r.url) for r in spec.declared_registries()] == [(name, "static", url)]


def test_a_registry_path_that_needs_quotes_is_quoted() -> None:
    text = starter_text("models: #1")

    assert parse_spec(text).declared_registries()[0].url == "models: #1"


def test_a_registry_url_with_an_unsupported_scheme_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        starter_text("s3://bucket/registry")

    assert caught.value.problems[0].message == "unsupported URL scheme 's3'"


def test_the_starters_commented_examples_are_valid_once_uncommented() -> None:
    lines = starter_text().splitlines()
    sections = [i for i, line in enumerate(lines) if line in ("# registries:", "# environment:", "# policy:")]
    uncommented = list(lines)
    for start in sections:
        end = next(i for i in range(start, len(lines)) if not lines[i].startswith("# "))
        uncommented[start:end] = [line[2:] for line in lines[start:end]]
    text = "\n".join(uncommented).replace("models: {}", "models:\n  gemma: google/gemma/transformers/2b-it")

    spec = parse_spec(text)
    assert spec.default_registry() == "mirror"
    assert spec.policy is not None and spec.policy.licenses is not None
    assert spec.policy.licenses.exceptions[0].model == "gemma"


# --- adding ---------------------------------------------------------------------------------------------------------


def test_adding_to_an_empty_models_mapping_writes_block_style() -> None:
    text = add_model("version: 1\nmodels: {}   # none yet\n", "bert", "owner/bert/keras/tiny")

    assert text == "version: 1\nmodels:   # none yet\n  bert: owner/bert/keras/tiny\n"


def test_an_empty_mapping_on_a_line_of_its_own_gives_way_to_the_entry() -> None:
    text = add_model("version: 1\nmodels:\n  {}\n# end\n", "bert", "owner/bert")

    assert text == "version: 1\nmodels:\n  bert: owner/bert\n# end\n"


def test_adding_to_an_empty_models_mapping_follows_the_files_indentation() -> None:
    text = "version: 1\nregistries:\n    mirror:\n        url: ../r\nmodels: {}"

    assert (
        add_model(text, "bert", "owner/bert")
        == "version: 1\nregistries:\n    mirror:\n        url: ../r\nmodels:\n    bert: owner/bert\n"
    )


def test_adding_twice_to_the_starter_file_gives_one_line_per_model() -> None:
    text = add_model(starter_text(), "bert", "owner/bert/keras/tiny")
    text = add_model(text, "gemma", "google/gemma/transformers/2b-it@>=2,<4")

    assert text.endswith("models:\n  bert: owner/bert/keras/tiny\n  gemma: google/gemma/transformers/2b-it@>=2,<4\n")
    assert [m.versions for m in parse_spec(text).declared_models()] == ["", ">=2,<4"]


def test_adding_touches_one_line_after_the_last_entry_and_before_trailing_comments() -> None:
    text = add_model(COMMENTED, "gemma", "google/gemma/transformers/2b-it@>=2")

    assert changed_lines(COMMENTED, text) == ["+  gemma: google/gemma/transformers/2b-it@>=2\n"]
    assert text.index("gemma:") < text.index("# spare: owner/spare/onnx/v")


def test_adding_to_a_flow_mapping_stays_in_flow_style_and_quotes_as_flow_needs() -> None:
    text = add_model("version: 1\nmodels: {bert: owner/bert}  # flow\n", "gemma", "google/gemma@>=2,<4")

    assert text == "version: 1\nmodels: {bert: owner/bert, gemma: 'google/gemma@>=2,<4'}  # flow\n"


def test_adding_keeps_windows_line_endings() -> None:
    text = add_model("version: 1\r\nmodels:\r\n  bert: owner/bert\r\n", "gemma", "google/gemma")

    assert text == "version: 1\r\nmodels:\r\n  bert: owner/bert\r\n  gemma: google/gemma\r\n"


def test_adding_a_name_that_exists_suggests_another_name() -> None:
    with pytest.raises(UsageError) as caught:
        add_model(COMMENTED, "bert", "owner/other")

    assert str(caught.value) == "kmodels.yaml: a model named 'bert' is already declared"
    assert caught.value.hint == "choose another name with --name, or run `kmenv remove bert` first"


@pytest.mark.parametrize(
    ("name", "entry", "message", "hint"),
    [
        (
            "gemma",
            "google/gemma/pytorh/2b",
            "cannot add 'gemma': handle 'google/gemma/pytorh/2b': unknown framework 'pytorh'",
            "did you mean 'pyTorch'?",
        ),
        ("gemma", "google/gemma@~=2", "cannot add 'gemma': '~=2': '~=' compares", "write >=2,<3"),
        ("my model", "owner/m", "cannot add 'my model': model name 'my model' is not a safe folder name", "'my-model'"),
        (
            "bert2",
            "owner/bert/keras/tiny",
            "cannot add 'bert2': owner/bert/keras/tiny is already declared as 'bert'",
            "",
        ),
    ],
)
def test_an_entry_that_would_not_parse_is_refused_with_the_reason(
    name: str, entry: str, message: str, hint: str
) -> None:
    with pytest.raises(UsageError) as caught:
        add_model(COMMENTED, name, entry)

    assert str(caught.value).startswith(message)
    assert caught.value.hint is not None and hint in caught.value.hint


def test_a_file_with_problems_is_not_edited() -> None:
    with pytest.raises(SpecError) as caught:
        add_model("version: 1\nmodels:\n  a: owner/a@~=2\n", "b", "owner/b", filename="p/kmodels.yaml")

    assert caught.value.problems[0].location() == "p/kmodels.yaml:3:6"


# --- removing -------------------------------------------------------------------------------------------------------


def test_add_then_remove_gives_back_the_file_byte_for_byte() -> None:
    added = add_model(COMMENTED, "gemma", "google/gemma/transformers/2b-it@>=2")

    assert remove_model(added, "gemma") == COMMENTED


def test_removing_a_one_line_entry_removes_that_line_only() -> None:
    text = add_model(COMMENTED, "gemma", "google/gemma")

    assert changed_lines(COMMENTED, remove_model(text, "clf")) == [
        "-  clf:                          # a classifier, any framework\n",
        "-    handle: 'owner/classifier'\n",
        "-    # no version 1: it was broken\n",
        '-    version: ">=2"\n',
        "-    files:\n",
        '-    - "*.json"\n',
        "-    - weights/*\n",
        "+  gemma: google/gemma\n",
    ]


def test_removing_the_last_model_leaves_an_empty_mapping() -> None:
    text = "version: 1\nmodels:   # what we use\n  bert: owner/bert\n# end\n"

    assert remove_model(text, "bert") == "version: 1\nmodels: {}   # what we use\n# end\n"
    assert remove_model("version: 1\nmodels: {bert: owner/bert}\n", "bert") == "version: 1\nmodels: {}\n"


def test_removing_from_a_flow_mapping_takes_its_comma_along() -> None:
    text = "version: 1\nmodels: {a: owner/a, b: owner/b, c: owner/c}\n"

    assert remove_model(text, "a") == "version: 1\nmodels: {b: owner/b, c: owner/c}\n"
    assert remove_model(text, "b") == "version: 1\nmodels: {a: owner/a, c: owner/c}\n"
    assert remove_model(text, "c") == "version: 1\nmodels: {a: owner/a, b: owner/b}\n"


def test_removing_an_unknown_name_lists_close_names() -> None:
    with pytest.raises(NotInstalledError) as caught:
        remove_model(COMMENTED, "brt")

    assert str(caught.value) == "kmodels.yaml declares no model named 'brt'"
    assert caught.value.hint == "did you mean 'bert'?"
    assert isinstance(caught.value, LookupError)


def test_removing_an_unknown_name_with_nothing_close_lists_every_name() -> None:
    with pytest.raises(NotInstalledError) as caught:
        remove_model(COMMENTED, "gemma")

    assert caught.value.hint == "declared: bert, clf"


def test_removing_a_model_a_licence_exception_names_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        remove_model(COMMENTED, "bert")

    assert str(caught.value) == (
        "cannot remove 'bert': policy.licenses.exceptions[0].model: "
        "exception for 'bert', which models: does not declare"
    )
    assert caught.value.hint == "change policy.licenses.exceptions[0].model in kmodels.yaml first"


# --- default names --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "name"),
    [
        ("owner/bert", "bert"),
        ("owner/bert/keras/tiny", "bert-tiny"),
        ("google/gemma/transformers/2b-it", "gemma-2b-it"),
        ("google/gemma/transformers/gemma-2b", "gemma-2b"),
        ("owner/model/variation", "model-variation"),
        ("owner/model/onnx/v/3", "model-v"),
    ],
)
def test_the_default_name_is_the_model_slug_or_model_dash_variation(handle: str, name: str) -> None:
    assert default_name(Handle.parse(handle)) == name


def test_the_default_name_is_always_a_safe_folder_name() -> None:
    assert default_name(Handle("owner", "_odd model", None, None)) == "odd-model"
