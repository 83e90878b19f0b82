"""The environment folder: complete generations, an atomic switch, safe paths, one install at a time."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest

from kmenv.environment.generations import EnvironmentDir
from kmenv.errors import IntegrityError, NotInstalledError, UsageError


@pytest.fixture
def blobs(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "store"
    folder.mkdir()
    made = {}
    for name, text in {"config": b'{"layers": 2}', "weights": b"\x00\x01" * 100, "vocab": b"a\nb\n"}.items():
        path = folder / name
        path.write_bytes(text)
        path.chmod(0o444)
        made[name] = path
    return made


@pytest.fixture
def env(tmp_path: Path) -> EnvironmentDir:
    return EnvironmentDir(tmp_path / "project" / ".kmenv")


def gemma_layout(blobs: dict[str, Path]) -> dict[str, list[tuple[str, Path]]]:
    return {
        "gemma": [("config.json", blobs["config"]), ("weights/model.bin", blobs["weights"])],
        "tok": [("assets/tokenizer/vocab.txt", blobs["vocab"])],
    }


def test_a_built_and_switched_generation_is_what_models_shows(env: EnvironmentDir, blobs: dict[str, Path]) -> None:
    assert env.current() is None and env.generations() == []

    generation = env.build(gemma_layout(blobs))
    assert env.current() is None, "building does not switch"
    env.switch(generation)

    assert generation == 1 and env.current() == 1 and env.generations() == [1]
    assert os.readlink(env.root / "models") == "generations/1"
    assert (env.model_path("gemma") / "weights" / "model.bin").read_bytes() == blobs["weights"].read_bytes()
    assert (env.model_path("tok") / "assets/tokenizer/vocab.txt").read_text() == "a\nb\n"
    assert (env.root / ".gitignore").read_text().splitlines()[-1] == "*"


def test_switching_moves_the_link_and_keeps_old_generations(env: EnvironmentDir, blobs: dict[str, Path]) -> None:
    first = env.build({"m": [("f", blobs["config"])]})
    env.switch(first)
    path = env.model_path("m") / "f"
    second = env.build({"m": [("f", blobs["vocab"])]})
    env.switch(second)

    assert path.read_text() == "a\nb\n", "the same path now shows the new generation"
    assert env.generations() == [1, 2]
    env.switch(first)
    assert path.read_text() == '{"layers": 2}'
    assert not list(env.root.glob("models.tmp-*"))


def test_generation_numbers_are_never_reused(env: EnvironmentDir, blobs: dict[str, Path]) -> None:
    env.switch(env.build({"m": [("f", blobs["config"])]}))
    two = env.build({"m": [("f", blobs["vocab"])]})
    env.remove(two)
    assert env.build({"m": [("f", blobs["vocab"])]}) == 3
    with pytest.raises(UsageError, match="generation 1 is in use"):
        env.remove(1)


def test_a_crashed_build_leaves_only_leftovers_the_next_build_removes(
    env: EnvironmentDir, blobs: dict[str, Path]
) -> None:
    env.switch(env.build({"m": [("f", blobs["config"])]}))
    (env.root / "generations" / ".7.tmp" / "m").mkdir(parents=True)
    (env.root / "models.tmp-99999").symlink_to("generations/1")

    env.build({"m": [("f", blobs["config"])]})
    assert sorted(p.name for p in (env.root / "generations").iterdir()) == [".last", "1", "2"]
    assert not (env.root / "models.tmp-99999").exists()


def test_a_counter_update_cut_short_is_removed_by_the_next_build(env: EnvironmentDir, blobs: dict[str, Path]) -> None:
    env.build({"m": [("f", blobs["config"])]})
    (env.root / "generations" / "..last.0a0b0c0d.tmp").write_text("2\n")  # what a killed write_atomic leaves

    assert env.build({"m": [("f", blobs["config"])]}) == 2
    assert sorted(p.name for p in (env.root / "generations").iterdir()) == [".last", "1", "2"]


def test_a_failed_build_changes_nothing(env: EnvironmentDir, blobs: dict[str, Path], tmp_path: Path) -> None:
    env.switch(env.build({"m": [("f", blobs["config"])]}))
    with pytest.raises(IntegrityError, match=r"missing-blob is missing from the store \(needed for m/g\)"):
        env.build({"m": [("f", blobs["config"]), ("g", tmp_path / "missing-blob")]})

    assert env.current() == 1 and env.generations() == [1]
    assert not list((env.root / "generations").glob(".*.tmp"))


def test_a_generation_records_its_lock_beside_it_for_as_long_as_it_lives(
    env: EnvironmentDir, blobs: dict[str, Path], tmp_path: Path
) -> None:
    first = env.build({"m": [("f", blobs["config"])]}, record="lock one\n")
    env.switch(first)
    assert env.read_record(first) == "lock one\n"
    assert sorted(p.name for p in (env.root / "generations").iterdir() if p.is_dir()) == ["1"]  # models only
    with pytest.raises(IntegrityError):  # a failed build leaves no record behind
        env.build({"m": [("g", tmp_path / "missing-blob")]}, record="lock two\n")
    assert env.read_record(2) is None
    third = env.build({"m": [("f", blobs["vocab"])]}, record="lock three\n")
    env.switch(third)
    env.write_record(third, "lock three, relocked\n")  # same content, newer lock: the record follows
    assert env.read_record(third) == "lock three, relocked\n"
    env.remove(first)
    assert env.read_record(first) is None and not (env.root / "generations" / ".1.lock").exists()
    assert env.build({"n": [("f", blobs["config"])]}) == 4 and env.read_record(4) is None  # no record given


@pytest.mark.parametrize("path", ["../escape", "a/../../b", "/etc/passwd", "a\\b", "a//b", "./a", "", "a/", "nul\0"])
def test_paths_that_could_escape_the_model_folder_are_refused(
    env: EnvironmentDir, blobs: dict[str, Path], path: str
) -> None:
    with pytest.raises(IntegrityError, match="refusing file path"):
        env.build({"m": [(path, blobs["config"])]})
    assert env.generations() == []


@pytest.mark.parametrize("name", ["..", ".", "a/b", "a\\b", ""])
def test_model_names_must_be_plain_folder_names(env: EnvironmentDir, blobs: dict[str, Path], name: str) -> None:
    with pytest.raises(IntegrityError, match="refusing model name"):
        env.build({name: [("f", blobs["config"])]})
    with pytest.raises(IntegrityError):
        env.model_path(name)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("a", "config"), ("a", "vocab")], "listed twice"),
        ([("a", "config"), ("a/b", "vocab")], "file and as a folder"),
    ],
)
def test_conflicting_paths_are_refused(
    env: EnvironmentDir, blobs: dict[str, Path], files: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(IntegrityError, match=message):
        env.build({"m": [(rel, blobs[key]) for rel, key in files]})


def test_switching_to_a_missing_generation_lists_the_available_ones(
    env: EnvironmentDir, blobs: dict[str, Path]
) -> None:
    env.build({"m": [("f", blobs["config"])]})
    with pytest.raises(NotInstalledError, match="generation 5 does not exist") as caught:
        env.switch(5)
    assert caught.value.hint == "available: 1"


def test_a_models_folder_kmenv_did_not_make_is_reported(env: EnvironmentDir, blobs: dict[str, Path]) -> None:
    generation = env.build({"m": [("f", blobs["config"])]})
    (env.root / "models").mkdir()
    with pytest.raises(IntegrityError, match="is not a link to a generation"):
        env.current()
    with pytest.raises(IntegrityError, match="is a folder, not the link kmenv manages"):
        env.switch(generation)


def test_state_round_trips_atomically_and_damage_reads_as_unknown(env: EnvironmentDir) -> None:
    assert env.read_state() is None
    env.write_state({"generation": 3, "lock_sha256": "ab"})
    assert env.read_state() == {"generation": 3, "lock_sha256": "ab"}
    assert sorted(p.name for p in env.root.iterdir() if p.name.startswith("state")) == ["state.json"]

    (env.root / "state.json").write_text("{not json")
    assert env.read_state() is None
    (env.root / "state.json").write_text("[1, 2]")
    assert env.read_state() is None


def test_the_lock_is_reentrant_within_one_environment_object(env: EnvironmentDir, blobs: dict[str, Path]) -> None:
    with env.lock(), env.lock():
        generation = env.build({"m": [("f", blobs["config"])]})
        env.switch(generation)
        env.write_state({"generation": generation})
    assert env.current() == generation


def _hold_lock(root: str, held: Any, release_time: Any) -> None:
    with EnvironmentDir(Path(root)).lock():
        held.set()
        time.sleep(0.5)
        release_time.value = time.time()


def test_the_lock_serialises_two_processes(env: EnvironmentDir) -> None:
    context = multiprocessing.get_context("spawn")
    held, release_time = context.Event(), context.Value("d", 0.0)
    child = context.Process(target=_hold_lock, args=(str(env.root), held, release_time))
    child.start()
    try:
        assert held.wait(timeout=20), "the child process took the lock"
        with env.lock():
            acquired = time.time()
    finally:
        child.join(timeout=20)
    assert child.exitcode == 0
    assert acquired >= release_time.value > 0
