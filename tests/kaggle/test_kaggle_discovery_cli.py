"""``kmenv search/show/versions/download`` against the emulator: online, then offline from the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import bert_files
from kaggle_emulator import KaggleEmulator, iter_files

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

BERT = "keras/bert/keras/bert_tiny_en_uncased"
MANIFEST = ".kmenv-download.json"  # what kmenv download leaves beside the files, for `kmenv validate DIR`


def test_search_table_and_json(emulator: KaggleEmulator, kmenv: Runner) -> None:
    table = kmenv("search")
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split() == ["handle", "title", "frameworks", "license", "votes", "updated"]
    assert [line.split()[0] for line in lines[1:]] == [
        "google/gemma",
        "keras/bert",
        "acme/chat-llm",
        "acme/base-llm",
        "acme/shards",
    ]
    data = json.loads(kmenv("search", "llm", "--sort", "votes", "--json").out)
    assert [m["handle"] for m in data["models"]] == ["acme/chat-llm", "acme/base-llm"]
    assert data["models"][0]["frameworks"] == ["pyTorch"] and data["models"][0]["licenses"] == ["MIT"]
    body = emulator.requests_to("ListModels")[-1].body
    assert body is not None and body["sortBy"] == "LIST_MODELS_ORDER_BY_VOTE_COUNT" and body["search"] == "llm"


def test_search_filters_and_follows_pages(emulator: KaggleEmulator, kmenv: Runner) -> None:
    emulator.max_page_size = 1
    data = json.loads(kmenv("search", "--all", "--license", "MIT", "--json").out)
    assert [m["handle"] for m in data["models"]] == ["acme/chat-llm", "acme/base-llm"]
    assert len(emulator.requests_to("ListModels")) == 5
    tagged = json.loads(kmenv("search", "--tag", "chat", "--json", "--refresh").out)
    assert [m["handle"] for m in tagged["models"]] == ["acme/chat-llm"]
    limited = json.loads(kmenv("search", "--limit", "2", "--json", "--framework", "pytorch").out)
    assert [m["handle"] for m in limited["models"]] == ["google/gemma", "acme/chat-llm"] and limited["more"]


def test_search_rejects_unknown_framework(emulator: KaggleEmulator, kmenv: Runner) -> None:
    result = kmenv("search", "--framework", "sklearn")
    assert result.code == 2 and "unknown framework 'sklearn'" in result.err


def test_show_model_card_with_filled_usage(emulator: KaggleEmulator, kmenv: Runner) -> None:
    result = kmenv("show", f"{BERT}/1")
    assert result.code == 0, result.err
    assert "BERT (keras/bert)" in result.out
    assert 'from_preset("kaggle://keras/bert/keras/bert_tiny_en_uncased/1")' in result.out
    assert "https://www.kaggle.com/datasets/example/wikipedia" in result.out
    card = json.loads(kmenv("show", "acme/chat-llm", "--json").out)
    assert card["instances"][0]["base"] == "acme/base-llm/pyTorch/small"
    assert card["instances"][0]["license"] == "MIT" and card["instances"][0]["fine_tunable"] is True
    assert card["url"] == "https://www.kaggle.com/models/acme/chat-llm" and card["chosen"] is None
    one = json.loads(kmenv("show", "acme/chat-llm/pyTorch/small-chat", "--json").out)
    assert one["url"] == "https://www.kaggle.com/models/acme/chat-llm/pyTorch/small-chat/2"
    assert one["chosen"] == {"handle": "acme/chat-llm/pyTorch/small-chat/2", "version": 2}


def test_show_unknown_model_is_a_usage_error(emulator: KaggleEmulator, kmenv: Runner) -> None:
    result = kmenv("show", "keras/nope")
    assert result.code == 2 and "keras/nope" in result.err


def test_versions_and_diff(emulator: KaggleEmulator, kmenv: Runner) -> None:
    rows = json.loads(kmenv("versions", BERT, "--json").out)["versions"]
    assert [(r["version"], r["files"], r["latest"]) for r in rows] == [(2, 4, True), (1, 3, False)]
    assert rows[1]["license_observed"] is False  # Kaggle publishes only the current version's licence
    diff = kmenv("versions", BERT, "--diff", "1", "2")
    assert diff.code == 0
    assert "+ metadata.json (26 B)" in diff.out
    assert "~ model.weights.h5 (2.0 KiB → 4.0 KiB)" in diff.out
    data = json.loads(kmenv("versions", BERT, "--diff", "2", "1", "--json").out)
    assert data["removed"] == [{"path": "metadata.json", "size": 26}]


def test_versions_diff_of_missing_version(emulator: KaggleEmulator, kmenv: Runner) -> None:
    result = kmenv("versions", BERT, "--diff", "1", "9")
    assert result.code == 2 and "no version 9" in result.err


def test_download_writes_verified_files(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    result = kmenv("download", f"{BERT}/1", "acme/shards/pyTorch/many", "--nested", "--path", tmp_path, "--json")
    assert result.code == 0, result.err
    downloads = json.loads(result.out)["downloads"]
    assert [d["handle"] for d in downloads] == [f"{BERT}/1", "acme/shards/pyTorch/many/1"]
    folder = tmp_path / "keras/bert/keras/bert_tiny_en_uncased/1"
    for path, data in bert_files(1).items():
        assert (folder / path).read_bytes() == data
    shards = tmp_path / "acme/shards/pyTorch/many/1"
    assert {p.name: p.read_bytes() for p in shards.iterdir() if p.name != MANIFEST} == dict(iter_files(30))


def test_download_one_file(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    assert kmenv("download", BERT, "--file", "config.json", "--path", tmp_path).code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "config.json"]  # in --path DIR itself
    missing = kmenv("download", BERT, "--file", "nope.bin", "--path", tmp_path)
    assert missing.code == 2 and "matches no file" in missing.err


def test_download_with_bad_md5_leaves_nothing_behind(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    emulator.fault("blob", kind="wrong_md5", path="adapter.bin", times=5)
    result = kmenv("download", "acme/chat-llm/pyTorch/small-chat", "--path", tmp_path / "out")
    assert result.code == 6 and "md5 mismatch" in result.err
    assert not (tmp_path / "out").exists()


def test_download_needs_a_full_handle(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    result = kmenv("download", "keras/bert", "--path", tmp_path)
    assert result.code == 2 and "not a full handle" in result.err


def test_everything_works_offline_after_one_online_run(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    commands = [
        ["search", "--json"],
        ["show", "keras/bert", "--json"],
        ["versions", BERT, "--json"],
        ["versions", BERT, "--diff", "1", "2", "--json"],
        ["download", BERT, "--path", str(tmp_path / "dl"), "--json"],
    ]
    online = [kmenv(*c) for c in commands]
    assert all(r.code == 0 for r in online), [r.err for r in online]
    seen = len(emulator.seen)
    offline = [kmenv("--offline", *c) for c in commands]
    assert [r.out for r in offline[:-1]] == [r.out for r in online[:-1]]
    (fetched,), (reused,) = (json.loads(r.out)["downloads"] for r in (online[-1], offline[-1]))
    assert fetched["fetched"] > 0 and reused["fetched"] == 0  # the second download came from the store
    assert {**reused, "fetched": 0, "fetched_bytes": 0} == {**fetched, "fetched": 0, "fetched_bytes": 0}
    assert len(emulator.seen) == seen
    missing = kmenv("--offline", "show", "acme/base-llm")
    assert (
        missing.code == 5 and "offline: the metadata cache has no Kaggle answer for model acme/base-llm" in missing.err
    )


def test_kaggle_api_environment_is_honoured_like_the_official_clients(
    emulator: KaggleEmulator,
    kmenv: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KMENV_KAGGLE_URL")
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "TEST")  # http://localhost:7777/api/v1 ...
    monkeypatch.setenv("HTTP_PROXY", emulator.origin)  # ... reached through the emulator on 127.0.0.1
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    result = kmenv("show", "keras/bert", "--json")
    assert result.code == 0, result.err
    assert emulator.requests_to("GetModel")[0].path == "/api/v1/models.ModelApiService/GetModel"


SAME_SIZE = "acme/same-size/pyTorch/v"


def test_diff_compares_by_digest_once_known_and_says_when_only_sizes_were(
    emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path
) -> None:
    emulator.add_instance(
        "acme",
        "same-size",
        "pyTorch",
        "v",
        {n: {"weights.bin": f"weights {n}".encode() * 10, "config.json": b'{"layers": 2}'} for n in (1, 2)},
        license="MIT",
    )
    sizes_only = kmenv("versions", SAME_SIZE, "--diff", "1", "2")
    assert sizes_only.code == 0, sizes_only.err
    assert "  2 files unchanged in size (no digest known on this machine: only sizes could be compared)" in (
        sizes_only.out
    )
    data = json.loads(kmenv("versions", SAME_SIZE, "--diff", "1", "2", "--json").out)
    assert (data["changed"], data["unchanged"]) == ([], 2)
    assert data["compared"] == {"sha256": 0, "md5": 0, "size": 2}
    # a download learns both versions' sha256s; the diff then sees the content change of equal size
    for n in (1, 2):
        assert kmenv("download", f"{SAME_SIZE}/{n}", "--path", tmp_path).code == 0
    diff = kmenv("versions", SAME_SIZE, "--diff", "1", "2")
    assert "  ~ weights.bin (90 B, same size, sha256 differs)" in diff.out
    assert "  1 file unchanged (1 by sha256)" in diff.out
    data = json.loads(kmenv("versions", SAME_SIZE, "--diff", "1", "2", "--json").out)
    assert data["changed"] == [{"path": "weights.bin", "size_a": 90, "size_b": 90, "compared": "sha256"}]
    assert data["unchanged"] == 1
    assert data["unchanged_files"] == [{"path": "config.json", "size": 13, "compared": "sha256"}]
    assert data["compared"] == {"sha256": 2, "md5": 0, "size": 0}


def test_compare_file_prefers_sha256_then_md5_then_size() -> None:
    from kmenv.actions.discovery import compare_file

    same_md5 = {"md5": "AAA=="}
    assert compare_file("f", 4, 4, {"sha256": "a", **same_md5}, {"sha256": "b", **same_md5}).differs
    md5 = compare_file("f", 4, 4, {"md5": "AAA=="}, {"sha256": "b", "md5": "BBB=="})
    assert (md5.differs, md5.compared) == (True, "md5")
    size = compare_file("f", 4, 4, {"sha256": "a"}, {"md5": "BBB=="})
    assert (size.differs, size.compared) == (False, "size")
    assert compare_file("f", 4, 5, {}, {}).differs


def test_show_owner_model_lists_every_instance_and_the_card_without_picking_one(
    emulator: KaggleEmulator, kmenv: Runner
) -> None:
    # a second instance whose name sorts first: `show keras/bert` used to describe it alone, with empty sections
    emulator.add_instance("keras", "bert", "jax", "aaa_first", {1: {"w.bin": b"w"}}, license="MIT")
    result = kmenv("show", "keras/bert")
    assert result.code == 0, result.err
    assert "  # BERT" in result.out and "  A tiny English BERT." in result.out  # the model card
    lines = result.out.splitlines()
    table = [line.split()[0] for line in lines[lines.index(next(x for x in lines if x.startswith("instance"))) + 1 :]]
    assert "keras/bert/keras/bert_tiny_en_uncased" in table and "keras/bert/jax/aaa_first" in table
    assert "for keras/bert" not in result.out and "usage:" not in result.out and "training data" not in result.out
    card = json.loads(kmenv("show", "keras/bert", "--json").out)
    assert card["chosen"] is None and card["usage"] == "" and card["training_data"] == []
    assert card["description"] == "# BERT\nA tiny English BERT."
    assert {i["handle"] for i in card["instances"]} == {
        "keras/bert/keras/bert_tiny_en_uncased",
        "keras/bert/jax/aaa_first",
    }


def test_kaggle_says_where_the_user_looks_that_it_publishes_no_metrics(emulator: KaggleEmulator, kmenv: Runner) -> None:
    shown = kmenv("show", BERT)
    assert "metrics are not published by Kaggle" in shown.out
    assert json.loads(kmenv("show", BERT, "--json").out)["metrics_note"].startswith("metrics are not published")
    listed = kmenv("versions", BERT)
    assert "metrics are not published by Kaggle" in listed.out
    data = json.loads(kmenv("versions", BERT, "--json").out)
    assert data["metrics"] == [] and data["metrics_note"].startswith("metrics are not published by Kaggle")
    assert data["versions"][0]["requires"] == {"keras": ">=3"}
    compared = kmenv("compare", f"{BERT}/1", f"{BERT}/2")
    assert compared.code == 0, compared.err
    assert "metrics are not published by Kaggle" in compared.out


def test_frameworks_json_applies_to_kaggle_candidates(emulator: KaggleEmulator, kmenv: Runner, tmp_path: Path) -> None:
    import os

    config = Path(os.environ["KMENV_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "frameworks.json").write_text('{"keras": {"keras": ">=3.3", "jax": ""}}')
    data = json.loads(kmenv("versions", BERT, "--json").out)
    assert data["versions"][0]["requires"] == {"jax": "", "keras": ">=3.3"}


def test_show_and_compare_of_one_version_list_only_that_versions_files(emulator: KaggleEmulator, kmenv: Runner) -> None:
    assert kmenv("show", f"{BERT}/1").code == 0
    assert kmenv("compare", f"{BERT}/1").code == 0
    listed = [r.body for r in emulator.requests_to("ListModelInstanceVersionFiles")]
    assert listed and all(b is not None and b["versionNumber"] == 1 for b in listed)
