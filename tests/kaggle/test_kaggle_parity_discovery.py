"""Discovery at parity with the kaggle CLI: show's links, notes and consent; versions --files; every sort order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import bert_files
from identities import Who

if TYPE_CHECKING:
    from conftest import Runner
    from kaggle_emulator import KaggleEmulator

pytest_plugins = ["kaggle_fixtures"]  # `emulator`, `people`, `who`

GEMMA = "google/gemma/pyTorch/2b"
BERT = "keras/bert/keras/bert_tiny_en_uncased"


@pytest.mark.parametrize(
    ("user", "access", "line"),
    [
        (None, "gated: sign in to accept", "access: gated (no credentials: run `kmenv login`, then accept"),
        ("bob", "gated: not accepted", "access: gated: not accepted (accept the licence at "
         "https://www.kaggle.com/models/google/gemma/pyTorch/2b with this account)"),
        ("alice", "gated: accepted", "access: gated: accepted"),
    ],
)  # fmt: skip
def test_show_says_whether_the_caller_may_download_a_gated_model(
    people: KaggleEmulator, who: Who, kmenv: Runner, user: str | None, access: str, line: str
) -> None:
    who(user)
    data = json.loads(kmenv("show", GEMMA, "--json").out)
    assert data["access"] == access
    [row] = data["instances"]
    assert row["gated"] is True and row["access"] == access
    assert row["consent"] == {None: None, "bob": "unspecified", "alice": "accepted"}[user]
    assert line in kmenv("show", GEMMA).out


def test_show_of_an_open_model_gives_links_notes_and_the_description(emulator: KaggleEmulator, kmenv: Runner) -> None:
    data = json.loads(kmenv("show", BERT, "--json").out)
    assert data["links"] == {
        "model": "https://www.kaggle.com/models/keras/bert",
        "instance": f"https://www.kaggle.com/models/{BERT}",
        "version": f"https://www.kaggle.com/models/{BERT}/2",
    }
    assert data["version_notes"] == "version 2" and data["access"] == "open"
    assert data["description"] == "# BERT\nA tiny English BERT."
    text = kmenv("show", BERT).out
    for expected in (f"version page: https://www.kaggle.com/models/{BERT}/2", "version notes: version 2",
                     "  A tiny English BERT.", "access: open"):  # fmt: skip
        assert expected in text
    older = json.loads(kmenv("show", f"{BERT}/1", "--json").out)
    assert older["version_notes"] is None  # Kaggle publishes the current version's notes only
    assert older["links"]["version"] == f"https://www.kaggle.com/models/{BERT}/1"


def test_versions_files_lists_a_versions_files_with_sizes(emulator: KaggleEmulator, kmenv: Runner) -> None:
    data = json.loads(kmenv("versions", f"{BERT}/1", "--files", "--json").out)
    expected = {path: len(body) for path, body in bert_files(1).items()}
    assert {f["path"]: f["size"] for f in data["files"]} == expected
    assert [f["path"] for f in data["files"]] == sorted(expected)
    assert (data["version"], data["latest"], data["count"], data["size"]) == (1, False, 3, sum(expected.values()))
    body = emulator.requests_to("ListModelInstanceVersionFiles")[-1].body
    assert body is not None and body["versionNumber"] == 1
    text = kmenv("versions", BERT, "--files").out.splitlines()
    assert text[0].split() == ["path", "size", "bytes"]
    assert text[-1] == f"{BERT}/2 (latest): 4 files, {_size(sum(len(b) for b in bert_files(2).values()))}"
    assert any(line.split()[0] == "metadata.json" and line.split()[-1] == "26" for line in text[1:-1])


def _size(n: int) -> str:
    from kmenv.values.candidates import format_size

    return format_size(n)


def test_versions_files_of_a_missing_version(emulator: KaggleEmulator, kmenv: Runner) -> None:
    """A version the model lacks is a user error (exit 2) that names the versions it has."""
    result = kmenv("versions", f"{BERT}/9", "--files")
    assert result.code == 2 and "has no version 9" in result.err and "2, 1" in result.err


@pytest.mark.parametrize(
    ("sort", "wire"),
    [
        ("notebooks", "LIST_MODELS_ORDER_BY_NOTEBOOK_COUNT"),
        ("notebookCount", "LIST_MODELS_ORDER_BY_NOTEBOOK_COUNT"),
        ("created", "LIST_MODELS_ORDER_BY_CREATE_TIME"),
        ("createTime", "LIST_MODELS_ORDER_BY_CREATE_TIME"),
        ("downloadCount", "LIST_MODELS_ORDER_BY_DOWNLOAD_COUNT"),
        ("voteCount", "LIST_MODELS_ORDER_BY_VOTE_COUNT"),
    ],
)
def test_search_takes_every_sort_order_of_the_kaggle_cli(
    emulator: KaggleEmulator, kmenv: Runner, sort: str, wire: str
) -> None:
    emulator.find("acme", "shards").notebooks = 50  # type: ignore[union-attr]
    emulator.find("acme", "base-llm").create_time = "2025-01-01T00:00:00Z"  # type: ignore[union-attr]
    result = kmenv("search", "--sort-by", sort, "--json")
    assert result.code == 0, result.err
    body = emulator.requests_to("ListModels")[-1].body
    assert body is not None and body["sortBy"] == wire
    first = json.loads(result.out)["models"][0]["handle"]
    expected = {
        "NOTEBOOK": "acme/shards",
        "CREATE": "acme/base-llm",
        "DOWNLOAD": "google/gemma",
        "VOTE": "google/gemma",
    }
    assert first == next(v for k, v in expected.items() if k in wire)


def test_cli_sort_choices_follow_the_action() -> None:
    from kmenv.actions.discovery.search import SORT_ALIASES, SORTS
    from kmenv.cli.commands.search import CLI_SORTS, SORT_CHOICES
    from kmenv.registry.kaggle.discovery import SORTS as WIRE

    assert SORT_CHOICES == SORTS and set(CLI_SORTS) == set(SORT_ALIASES) and set(WIRE) == set(SORTS)


def test_search_matches_descriptions_in_the_cached_listing(emulator: KaggleEmulator, kmenv: Runner) -> None:
    # Kaggle's search (like the emulator's) matches owner, slug and title, not the model card
    assert json.loads(kmenv("search", "english", "--json").out)["models"] == []
    assert kmenv("search").code == 0  # the full listing is now cached, descriptions included
    found = json.loads(kmenv("search", "english", "--json").out)
    assert [m["handle"] for m in found["models"]] == ["keras/bert"] and found["total"] == 1
    assert json.loads(kmenv("search", "english", "--owner", "acme", "--json").out)["models"] == []
    # a model Kaggle also returns is not listed twice
    both = json.loads(kmenv("search", "bert", "--json").out)
    assert [m["handle"] for m in both["models"]] == ["keras/bert"]


def test_descriptions_seen_by_one_identity_are_not_searched_for_another(
    people: KaggleEmulator, who: Who, kmenv: Runner
) -> None:
    people.find("alice", "private-thing").description = "secret project notes"  # type: ignore[union-attr]
    who("alice")
    assert kmenv("search").code == 0
    mine = json.loads(kmenv("search", "secret project", "--json").out)
    assert [m["handle"] for m in mine["models"]] == ["alice/private-thing"]
    who("bob")
    assert json.loads(kmenv("search", "secret project", "--json").out)["models"] == []


def test_versions_files_on_a_static_registry_gives_its_sha256s(example: Path, kmenv: Runner) -> None:
    iris = "kmenv-examples/iris/scikitLearn/logistic-regression"
    data = json.loads(kmenv("-C", example, "versions", f"{iris}/1", "--files", "--json").out)
    assert data["registry"] == "example" and data["version"] == 1 and data["count"] == len(data["files"]) > 0
    assert all(len(f["digests"]["sha256"]) == 64 and f["size"] > 0 for f in data["files"])
    assert data["size"] == sum(f["size"] for f in data["files"])
    # a static registry says nothing about gating: no access column, no access line
    shown = kmenv("-C", example, "show", iris)
    assert shown.code == 0 and "access" not in shown.out
