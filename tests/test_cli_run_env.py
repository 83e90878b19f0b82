"""``kmenv run`` and ``kmenv env``: a program gets the installed models' paths, in real subprocesses and shells."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Runner

from kmenv.actions.run_env import run_environment, variable_name

MODELS = {"adder", "bert", "chat", "iris", "tiny-lm-base"}
DUMP = "import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('KMENV_')}))"


def kmenv_proc(
    *args: str | os.PathLike[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kmenv", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def quoted(example: Path) -> Path:
    """The example project under a folder whose name needs quoting in every shell."""
    base = example.parent / "it's a $HOME dir"
    base.mkdir()
    shutil.move(example.parent / "registry", base / "registry")
    shutil.move(example, base / "quickstart")
    return base / "quickstart"


def test_run_installs_first_then_hands_the_paths_and_the_exit_code(example: Path) -> None:
    proc = kmenv_proc("run", "--", sys.executable, "-c", DUMP + "; raise SystemExit(7)", cwd=example)
    assert proc.returncode == 7, proc.stderr
    seen = json.loads(proc.stdout)
    assert "fetching" in proc.stderr  # the install happened, its chatter on stderr
    assert seen["KMENV_PROJECT"] == str(example.resolve())
    assert seen["KMENV_ENVIRONMENT"] == str(example.resolve() / ".kmenv")
    models = {k: v for k, v in seen.items() if k.startswith("KMENV_MODEL_")}
    assert set(models) == {variable_name(m) for m in MODELS} and "KMENV_MODEL_TINY_LM_BASE" in models
    for value in models.values():
        assert Path(value).is_absolute() and Path(value).is_dir() and "/generations/1/" in value
    again = kmenv_proc("run", "--locked", "--", sys.executable, "-c", DUMP, cwd=example)
    assert again.returncode == 0 and json.loads(again.stdout) == seen
    assert "fetching" not in again.stderr and "resolving" not in again.stderr  # nothing to install: no-op


def test_run_without_a_command_or_with_a_missing_one_speaks_like_a_shell(example: Path) -> None:
    missing = kmenv_proc("run", "--no-install", "--", "no-such-program-here", cwd=example)
    assert missing.returncode == 127
    assert missing.stderr.strip().splitlines() == ["kmenv run: no-such-program-here: command not found"]
    (example / "script").write_text("not a program")
    not_executable = kmenv_proc("run", "--no-install", "--", "./script", cwd=example)
    assert not_executable.returncode == 126 and "permission denied" in not_executable.stderr
    nothing = kmenv_proc("run", cwd=example)
    assert nothing.returncode == 2 and "no command to run" in nothing.stderr


def test_run_no_install_runs_what_is_there_and_run_locked_refuses_a_stale_lock(example: Path, kmenv: Runner) -> None:
    bare = kmenv_proc("run", "--no-install", "--", sys.executable, "-c", DUMP, cwd=example)
    assert bare.returncode == 0 and not (example / ".kmenv" / "models").exists()
    given = json.loads(bare.stdout)
    assert "KMENV_PROJECT" in given and not [k for k in given if k.startswith("KMENV_MODEL_")]
    assert kmenv("-C", example, "install").code == 0
    assert kmenv("-C", example, "remove", "adder", "--no-lock").code == 0  # the lock is now stale
    for env, argv in (({}, ["run", "--locked"]), ({"KMENV_LOCKED": "yes"}, ["run"])):
        stale = kmenv_proc(*argv, "--", "true", cwd=example, env=env)
        assert stale.returncode == 2 and "kmodels.lock" in stale.stderr, stale.stderr


def test_env_prints_exports_a_shell_evaluates_to_the_same_paths(quoted: Path, kmenv: Runner) -> None:
    assert kmenv("-C", quoted, "install").code == 0
    as_json = kmenv_proc("env", "--json", cwd=quoted)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert set(document["models"]) == MODELS and document["collisions"] == []
    shell = subprocess.run(
        ["sh", "-c", f'eval "$({sys.executable} -m kmenv env)" && env'],
        capture_output=True,
        text=True,
        cwd=quoted,
        timeout=120,
    )
    assert shell.returncode == 0, shell.stderr
    exported = dict(line.split("=", 1) for line in shell.stdout.splitlines() if line.startswith("KMENV_MODEL_"))
    exported.update(
        line.split("=", 1) for line in shell.stdout.splitlines() if line.startswith(("KMENV_PROJECT=", "KMENV_ENV"))
    )
    assert exported == document["variables"] and "it's a $HOME dir" in exported["KMENV_PROJECT"]
    fish = kmenv_proc("env", "--shell", "fish", cwd=quoted).stdout
    assert "set -gx KMENV_PROJECT '" + str(quoted.resolve()).replace("'", "\\'") + "'" in fish
    powershell = kmenv_proc("env", "--shell", "powershell", cwd=quoted).stdout
    assert "$env:KMENV_PROJECT = '" + str(quoted.resolve()).replace("'", "''") + "'" in powershell


def test_names_that_meet_in_one_variable_get_none(tmp_path: Path) -> None:
    generation = tmp_path / ".kmenv" / "generations" / "1"
    for name in ("my-model", "my.model", "My_Model", "other"):
        (generation / name).mkdir(parents=True)
    (tmp_path / ".kmenv" / "models").symlink_to("generations/1")
    found = run_environment(tmp_path, tmp_path / ".kmenv")
    assert found.collisions == (("My_Model", "my-model", "my.model"),)
    assert sorted(found.variables) == ["KMENV_ENVIRONMENT", "KMENV_MODEL_OTHER", "KMENV_PROJECT"]
    (note,) = found.collision_notes()
    assert "My_Model, my-model, my.model would all be KMENV_MODEL_MY_MODEL" in note and "kmenv path" in note


def test_run_keeps_the_groups_the_environment_holds(example: Path, kmenv: Runner) -> None:
    from test_groups import EVAL, MAIN, _grouped

    grouped = _grouped(example)
    assert kmenv("-C", grouped, "install", "--group", "eval").code == 0
    proc = kmenv_proc("run", "--", sys.executable, "-c", DUMP, cwd=grouped)
    assert proc.returncode == 0, proc.stderr
    models = {k for k in json.loads(proc.stdout) if k.startswith("KMENV_MODEL_")}
    assert models == {variable_name(m) for m in MAIN | EVAL}


def test_run_and_env_find_the_project_upward_and_explain_when_there_is_none(
    example: Path, kmenv: Runner, tmp_path: Path
) -> None:
    assert kmenv("-C", example, "install").code == 0
    below = example / "src" / "deep"
    below.mkdir(parents=True)
    found = kmenv_proc("env", cwd=below)
    assert found.returncode == 0 and f"export KMENV_PROJECT={example.resolve()}" in found.stdout.splitlines()
    nowhere = tmp_path / "empty"
    nowhere.mkdir()
    for argv in (["run", "--", "true"], ["env"]):
        outside = kmenv_proc(*argv, cwd=nowhere)
        assert outside.returncode == 2 and "no kmodels.yaml" in outside.stderr, outside.stderr
