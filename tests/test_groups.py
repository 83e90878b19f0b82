"""Model groups: ``groups:`` in kmodels.yaml, one lock for every group, ``install --group/--only-group/--no-group``.

The bundled example, with ``chat`` (and so its base ``tiny-lm-base``) and ``iris`` moved into a group ``eval``.
Everything is offline: the example is a static registry on disk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Runner

from kmenv.environment.fastpath import up_to_date
from kmenv.errors import SpecError, UsageError
from kmenv.lockfile.groups import GroupRequest, select_groups
from kmenv.spec.document import parse_spec

MAIN = {"adder", "bert"}
EVAL = {"chat", "iris", "tiny-lm-base"}

_GROUPS = """
groups:
  eval:                 # evaluation models: `kmenv install --group eval`
    models:
      chat:
        handle: kmenv-examples/tiny-lm-lora/pyTorch/chat
        version: ">=2"
      iris: kmenv-examples/iris/scikitLearn/logistic-regression@>=1,<3
  empty: {}
"""


def _grouped(project: Path) -> Path:
    """Move chat and iris of the example into the group eval (and declare an empty group)."""
    spec = project / "kmodels.yaml"
    text = spec.read_text()
    start = text.index("  chat:\n")
    end = text.index("\n", text.index("  iris: kmenv-examples"))
    spec.write_text(text[:start] + text[end + 1 :] + _GROUPS)
    return project


@pytest.fixture
def grouped(example: Path) -> Path:
    return _grouped(example)


def _installed(project: Path) -> set[str]:
    return {p.name for p in (project / ".kmenv" / "models").iterdir()}


def _lock(project: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((project / "kmodels.lock").read_text())
    return data


def test_the_lock_holds_every_group_and_each_model_names_the_groups_that_need_it(grouped: Path, kmenv: Runner) -> None:
    result = kmenv("-C", grouped, "lock")
    assert result.code == 0, result.err
    lock = json.loads((grouped / "kmodels.lock").read_text())
    assert set(lock["models"]) == MAIN | EVAL
    assert lock["models"]["chat"]["groups"] == ["eval"]
    assert lock["models"]["tiny-lm-base"]["groups"] == ["eval"]  # a base model takes the groups of its fine-tune
    assert "groups" not in lock["models"]["bert"]  # models: needs it: the lock says nothing new
    assert lock["inputs"]["groups"] == ["empty", "eval"]
    assert lock["inputs"]["models"]["iris"]["group"] == "eval"
    assert "group" not in lock["inputs"]["models"]["adder"]


def test_a_project_without_groups_locks_to_the_same_bytes_as_before(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "lock")
    text = (example / "kmodels.lock").read_text()
    assert '"groups"' not in text and '"group"' not in text


def test_a_plain_install_takes_models_only_and_group_flags_add_or_choose(grouped: Path, kmenv: Runner) -> None:
    plain = kmenv("-C", grouped, "install")
    assert plain.code == 0, plain.err
    assert "Installed 2 models into" in plain.out
    assert _installed(grouped) == MAIN

    with_eval = kmenv("-C", grouped, "install", "--group", "eval")
    assert with_eval.code == 0, with_eval.err
    assert "Installed 5 models (with groups: eval)" in with_eval.out
    assert _installed(grouped) == MAIN | EVAL

    again = kmenv("-C", grouped, "install", "--group", "eval")
    assert "Environment up to date (5 models with groups: eval, generation 2)" in again.out

    only = kmenv("-C", grouped, "install", "--only-group", "eval", "--json")
    assert only.code == 0, only.err
    assert json.loads(only.out)["groups"] == ["eval"]
    assert _installed(grouped) == EVAL

    everything_but = kmenv("-C", grouped, "install", "--all-groups", "--no-group", "eval")
    assert everything_but.code == 0, everything_but.err
    assert _installed(grouped) == MAIN


def test_a_plain_install_after_a_group_install_is_not_a_no_op_even_on_the_fast_path(
    grouped: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", grouped, "install", "--group", "eval").code == 0
    assert up_to_date(grouped) is None  # the generation holds eval: a plain install would change it
    result = kmenv("-C", grouped, "install", subprocess_=True)
    assert result.code == 0, result.err
    assert "Installed 2 models" in result.out
    assert os.readlink(grouped / ".kmenv" / "models") == "generations/2"
    assert _installed(grouped) == MAIN
    assert up_to_date(grouped) == 2  # and now the fast path may answer again
    again = kmenv("-C", grouped, "install", subprocess_=True)
    assert again.out.strip() == "Environment up to date (generation 2); nothing to do."


def test_an_unknown_group_is_a_usage_error_with_the_groups_there_are(grouped: Path, kmenv: Runner) -> None:
    result = kmenv("-C", grouped, "install", "--group", "evl")
    assert result.code == 2
    assert "kmodels.lock has no group 'evl'" in result.err
    assert "did you mean 'eval'?" in result.err
    assert not (grouped / ".kmenv" / "models").exists()
    mixed = kmenv("-C", grouped, "install", "--only-group", "eval", "--group", "empty")
    assert mixed.code == 2
    assert "--only-group cannot be combined" in mixed.err


def test_group_selection_rules() -> None:
    known = ("bench", "eval")
    assert select_groups(GroupRequest(), known) == ("default",)
    assert select_groups(GroupRequest(include=("eval",)), known) == ("default", "eval")
    assert select_groups(GroupRequest(only=("eval", "bench")), known) == ("bench", "eval")
    assert select_groups(GroupRequest(all_groups=True, exclude=("bench",)), known) == ("default", "eval")
    assert select_groups(GroupRequest(current=True), known, ("default", "gone", "eval")) == ("default", "eval")
    with pytest.raises(UsageError, match="leaves no group"):
        select_groups(GroupRequest(only=("eval",), exclude=("eval",)), known)


def test_model_names_are_unique_across_groups_and_default_is_reserved() -> None:
    text = """version: 1
models:
  judge: acme/judge/pyTorch/small
groups:
  eval:
    models:
      judge: acme/other/pyTorch/small
  default:
    models: {}
"""
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    found = {(p.key, p.line): p.message for p in caught.value.problems}
    assert found[("groups.eval.models.judge", 7)] == "model name 'judge' is already declared under models:"
    assert found[("groups.default", 8)].startswith("group name 'default' is reserved")


def test_a_typo_inside_a_group_model_is_placed_at_its_line() -> None:
    text = "version: 1\nmodels: {}\ngroups:\n  eval:\n    models:\n      a:\n"
    text += "        handle: acme/x/pyTorch/v\n        hadle: 2\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    (problem,) = caught.value.problems
    assert (problem.key, problem.line, problem.hint) == ("groups.eval.models.a.hadle", 8, "did you mean 'handle'?")


def test_moving_a_model_between_groups_makes_the_lock_stale(grouped: Path, kmenv: Runner) -> None:
    kmenv("-C", grouped, "lock")
    spec = grouped / "kmodels.yaml"
    iris = "      iris: kmenv-examples/iris/scikitLearn/logistic-regression@>=1,<3\n"
    spec.write_text(spec.read_text().replace(iris, "") + "  other:\n    models:\n" + iris)
    refused = kmenv("-C", grouped, "lock", "--check")
    assert refused.code == 2
    assert "model 'iris' moved from group 'eval' to group 'other'" in refused.err
    assert "group 'other' was added" in refused.err
    assert kmenv("-C", grouped, "lock").code == 0
    assert _lock(grouped)["models"]["iris"]["groups"] == ["other"]  # type: ignore[index]


def test_check_export_and_list_cover_every_group(grouped: Path, kmenv: Runner) -> None:
    assert kmenv("-C", grouped, "install").code == 0
    check = kmenv("-C", grouped, "check", "--no-git")
    assert check.code == 0, check.err
    assert "iris 2" in check.out and "tiny-lm-base 3" in check.out
    requirements = kmenv("-C", grouped, "export", "--format", "requirements")
    assert "scikit-learn>=1.3  # iris [eval]" in requirements.out
    bom = json.loads(kmenv("-C", grouped, "export", "--format", "cyclonedx").out)
    iris = next(c for c in bom["components"] if c["name"].endswith("logistic-regression"))
    assert {"name": "kmenv:group", "value": "eval"} in iris["properties"]
    listing = kmenv("-C", grouped, "list")
    assert listing.out.splitlines()[0].split()[5] == "groups"
    iris_row = next(line for line in listing.out.splitlines() if line.startswith("iris"))
    assert "eval" in iris_row and "(not installed)" in iris_row
    rows = json.loads(kmenv("-C", grouped, "list", "--json").out)["models"]
    assert {r["name"]: r["groups"] for r in rows}["bert"] == ["default"]


def test_validate_checks_the_groups_the_environment_was_built_with(grouped: Path, kmenv: Runner) -> None:
    assert kmenv("-C", grouped, "install").code == 0
    assert kmenv("-C", grouped, "validate").code == 0  # eval is not installed, and that is no damage
    assert kmenv("-C", grouped, "install", "--group", "eval").code == 0
    (grouped / ".kmenv" / "models" / "iris" / "parameters.json").unlink()
    damaged = kmenv("-C", grouped, "validate", "--repair")
    assert "missing: iris/parameters.json" in damaged.out
    assert damaged.code == 0, damaged.err
    assert _installed(grouped) == MAIN | EVAL  # the repair kept the group


def test_remove_drops_a_group_model_and_keeps_every_other_line() -> None:
    from kmenv.spec.edit import add_model, remove_model

    text = "version: 1\nmodels:\n  a: acme/a/pyTorch/v\ngroups:\n  eval:  # judges\n    models:\n"
    text += "      b: acme/b/pyTorch/v  # the judge\n      c: acme/c/pyTorch/v\n"
    edited = remove_model(text, "b")
    assert edited == text.replace("      b: acme/b/pyTorch/v  # the judge\n", "")
    assert remove_model(edited, "c").endswith("    models: {}\n")
    with pytest.raises(UsageError, match="already declared"):
        add_model(text, "c", "acme/d/pyTorch/v")
