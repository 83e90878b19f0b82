"""The warm install: a new environment from a filled store, built without pydantic, requests or rich.

Each test fills the store with a full install of the example project and lets the full path parse its lock once
(which records the lock as proven), then installs the same files into new project folders: through the warm path
(the console script's entry point) and through the full path (``app.run``, which never asks the warm path), and
compares everything the two leave behind. The fallbacks check that anything the warm path cannot decide gets the
full path's answer.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Runner

from kmenv.actions.install_warm import warm_install
from kmenv.actions.project import Project
from kmenv.cli import app
from kmenv.cli import main as entry_point
from kmenv.ledger.database import read_events
from kmenv.lockfile import light
from kmenv.lockfile.document import DEFAULT_GROUP
from kmenv.store.blobstore import Store
from kmenv.store.integrity import seal_state
from kmenv.store.proven_locks import is_proven
from kmenv.store.roots import root_file

HEAVY = ("pydantic", "requests", "rich", "ruamel", "resolvelib", "urllib3", "license_expression")


def cache() -> Path:
    return Path(os.environ["KMENV_CACHE_DIR"])


def new_project(source: Path, name: str) -> Path:
    """A new project folder beside ``source`` holding its kmodels.yaml and kmodels.lock only."""
    folder = source.parent / name
    folder.mkdir()
    for file in ("kmodels.yaml", "kmodels.lock"):
        shutil.copy2(source / file, folder / file)
    return folder


@pytest.fixture
def warm(example: Path, kmenv: Runner) -> Path:
    """The example installed (store filled, lock written), and its lock parsed once by the full path."""
    assert kmenv("-C", example, "install").code == 0
    first = new_project(example, "first")
    assert app.run(["-C", str(first), "install", "--frozen"]) == 0  # the full path: it proves the lock
    return example


def modules_after(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``kmenv ARGV`` through the console script's entry point in a fresh interpreter, and the modules it loaded."""
    script = (
        "import sys, json\n"
        f"code = __import__('kmenv.cli').cli.main({list(argv)!r})\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
        "raise SystemExit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=os.environ)
    return proc, set(json.loads(proc.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in HEAVY))


#: Standard modules (and kmenv's own) a warm install has no use for: each costs a few ms at every start.
NOT_FOR_LINKING = (
    "hashlib",  # OpenSSL: the lock and kmodels.yaml are hashed by the built-in sha256
    "typing",
    "socket",
    "secrets",
    "difflib",
    "concurrent.futures",
    "logging",
    "kmenv.actions.gc",  # a new environment within its keep-generations, no budget: nothing to clean
    "kmenv.store.gc_scan",
)


def test_a_warm_install_loads_no_module_it_has_no_use_for(warm: Path) -> None:
    script = "import sys\n{}\nprint(sorted(sys.modules), file=sys.stderr)\n"
    run = f"code = __import__('kmenv.cli').cli.main({['-C', str(new_project(warm, 'lean')), 'install', '--frozen']!r})"

    def loaded(code: str) -> set[str]:
        proc = subprocess.run([sys.executable, "-c", script.format(code)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return set(ast.literal_eval(proc.stderr.strip().splitlines()[-1]))

    # What starting Python (site hooks, coverage) and platformdirs (the one dependency the warm path needs; on
    # 3.10 it imports typing) load does not count: only what kmenv's own modules bring in.
    added = loaded(run) - loaded("import platformdirs")
    assert "kmenv.actions.install" not in added  # the warm path answered
    assert sorted(m for m in added if any(m == n or m.startswith(n + ".") for n in NOT_FOR_LINKING)) == []


def tree(env: Path) -> list[tuple[str, str, int, bytes | str]]:
    """Every entry under an environment folder: path, kind, mode, and a file's bytes or a link's target."""
    entries: list[tuple[str, str, int, bytes | str]] = []
    for path in sorted(env.rglob("*")):
        rel = str(path.relative_to(env))
        if rel in (".lock", "state.json"):
            continue
        info = path.lstat()
        if path.is_symlink():
            entries.append((rel, "link", info.st_mode, os.readlink(path)))
        elif path.is_dir():
            entries.append((rel, "dir", info.st_mode, b""))
        else:
            entries.append((rel, "file", info.st_mode, path.read_bytes()))
    return entries


def rows(project: Path) -> list[dict[str, object]]:
    """The ledger's events for ``project``, without what differs between two runs (time, id, the folder)."""
    found = []
    for event in read_events(project=project):
        row = dataclasses.asdict(event)
        for key in ("time", "id", "project", "environment"):
            row.pop(key)
        found.append(row)
    return found


def gc_root(env: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(root_file(cache(), env).read_text())
    data.pop("updated")
    data.pop("environment")
    return data


def test_a_warm_install_imports_nothing_heavy_and_leaves_what_the_full_path_leaves(warm: Path) -> None:
    by_warm, by_full = new_project(warm, "by-warm"), new_project(warm, "by-full")
    proc, loaded = modules_after("-C", str(by_warm), "install", "--frozen")
    assert proc.returncode == 0, proc.stderr
    assert heavy(loaded) == []
    assert "kmenv.actions.install" not in loaded and "kmenv.cli.app" not in loaded  # no fallback happened
    assert proc.stdout == f"Installed 5 models into {by_warm / '.kmenv'} (generation 1)\n"
    assert proc.stderr.splitlines()[0] == "linking…"

    full_path = "import sys; from kmenv.cli import app; raise SystemExit(app.run(sys.argv[1:]))"
    full = subprocess.run(
        [sys.executable, "-c", full_path, "-C", str(by_full), "install", "--frozen"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert full.returncode == 0, full.stderr
    assert full.stdout.replace("by-full", "by-warm") == proc.stdout
    assert full.stderr.splitlines() == proc.stderr.splitlines()[:1]

    assert tree(by_warm / ".kmenv") == tree(by_full / ".kmenv")
    assert (by_warm / ".kmenv" / "state.json").read_bytes() == (by_full / ".kmenv" / "state.json").read_bytes()
    assert rows(by_warm) == rows(by_full) and len(rows(by_warm)) == 5
    assert gc_root(by_warm / ".kmenv") == gc_root(by_full / ".kmenv")
    lock = json.loads((warm / "kmodels.lock").read_text())
    store = Store(cache())
    for model in lock["models"].values():  # the blobs keep their seals: the next project is warm too
        assert all(seal_state(store.root, f["sha256"], f["size"]) == "intact" for f in model["files"])


def test_the_warm_path_links_the_same_way_and_records_the_same_cleanup(
    warm: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMENV_LINK_MODE", "copy")
    monkeypatch.setattr(app, "run", lambda *a, **k: pytest.fail("the full path ran"))
    by_warm = new_project(warm, "by-warm")
    assert entry_point(["-C", str(by_warm), "-q", "install", "--frozen"]) == 0
    blob = next((by_warm / ".kmenv" / "models" / "bert").rglob("*.json"))
    assert blob.stat().st_nlink == 1  # copied, as KMENV_LINK_MODE asks
    monkeypatch.setenv("KMENV_KEEP_GENERATIONS", "7")
    other = new_project(warm, "other")
    assert entry_point(["-C", str(other), "install", "--frozen"]) == 0
    assert gc_root(other / ".kmenv")["keep"] == 7


def test_a_plain_install_is_warm_when_state_json_vouches_for_the_lock(warm: Path) -> None:
    """The state of a checking install of these exact files says the lock is fresh; no generation is kept."""
    folder = new_project(warm, "vouched")
    (folder / ".kmenv").mkdir()
    shutil.copy2(warm / ".kmenv" / "state.json", folder / ".kmenv" / "state.json")
    project = Project(folder)
    done = warm_install(project, frozen=False, seen={}, phase=lambda text: None)
    assert done is not None and done.generation == 1
    state = json.loads((folder / ".kmenv" / "state.json").read_text())
    assert state["fast_path"] is True and state["generation"] == 1

    (folder / "kmodels.yaml").write_text((folder / "kmodels.yaml").read_text() + "\n")  # the lock may be stale
    again = new_project(warm, "stale")
    (again / "kmodels.yaml").write_text((folder / "kmodels.yaml").read_text())
    (again / ".kmenv").mkdir()
    shutil.copy2(warm / ".kmenv" / "state.json", again / ".kmenv" / "state.json")
    assert warm_install(Project(again), frozen=False, seen={}, phase=lambda text: None) is None


def falls_back(folder: Path, *, frozen: bool = True) -> bool:
    return warm_install(Project(folder), frozen=frozen, seen={}, phase=lambda text: None) is None


def test_a_missing_blob_goes_to_the_full_path_which_fetches_it(warm: Path, kmenv: Runner) -> None:
    folder = new_project(warm, "missing")
    lock = json.loads((folder / "kmodels.lock").read_text())
    gone = lock["models"]["bert"]["files"][0]
    Store(cache()).blob_path(gone["sha256"]).unlink()
    assert falls_back(folder)
    result = kmenv("-C", folder, "install", "--frozen")
    assert result.code == 0 and "fetched 1 file" in result.out, result.err


def test_a_damaged_blob_goes_to_the_full_path_which_rehashes_and_replaces_it(warm: Path, kmenv: Runner) -> None:
    folder = new_project(warm, "damaged")
    lock = json.loads((folder / "kmodels.lock").read_text())
    damaged = lock["models"]["bert"]["files"][0]
    blob = Store(cache()).blob_path(damaged["sha256"])
    blob.chmod(0o644)
    data = blob.read_bytes()
    blob.write_bytes(bytes([data[0] ^ 1]) + data[1:])  # same size, other bytes
    assert falls_back(folder)
    result = kmenv("-C", folder, "install", "--frozen")
    assert result.code == 0 and "fetched 1 file" in result.out, result.err
    assert "had been modified in place" in result.err


def test_a_blob_without_its_seal_is_hashed_by_the_full_path(warm: Path, kmenv: Runner) -> None:
    folder = new_project(warm, "unsealed")
    shutil.rmtree(warm.parent / "first" / ".kmenv")  # removing links changes the blobs' ctime: seals no longer match
    assert falls_back(folder)
    result = kmenv("-C", folder, "install", "--frozen")
    assert result.code == 0 and "fetched" not in result.out
    assert not falls_back(new_project(warm, "after"))  # the full path sealed them again


def test_a_lock_no_full_parse_accepted_goes_to_the_full_path_which_proves_it(warm: Path, kmenv: Runner) -> None:
    folder = new_project(warm, "reformatted")
    text = json.dumps(json.loads((folder / "kmodels.lock").read_text()), indent=1, sort_keys=True)
    (folder / "kmodels.lock").write_text(text)
    assert falls_back(folder)
    (folder / "kmodels.lock").write_text("{not json")
    result = kmenv("-C", folder, "install", "--frozen")
    assert result.code == 2 and "kmodels.lock" in result.err  # the full path's error, worded by it
    (folder / "kmodels.lock").write_text(text)
    assert kmenv("-C", folder, "install", "--frozen").code == 0
    assert not falls_back(new_project(folder, "reformatted-again"))


def test_a_plain_install_is_warm_when_a_checking_install_found_the_same_files_fresh(
    warm: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert falls_back(new_project(warm, "plain"), frozen=False)  # only --frozen installs proved the lock so far
    checked = new_project(warm, "checked")
    assert app.run(["-C", str(checked), "install"]) == 0  # the full path checks the lock against kmodels.yaml
    capsys.readouterr()
    checkout = new_project(warm, "checkout")  # a new checkout of the same two files
    with monkeypatch.context() as patch:
        patch.setattr(app, "run", lambda *a, **k: pytest.fail("the full path ran"))
        assert entry_point(["-C", str(checkout), "install"]) == 0
    assert capsys.readouterr().out == f"Installed 5 models into {checkout / '.kmenv'} (generation 1)\n"
    for key in ("fast_path", "lock_sha256", "spec_sha256", "groups"):  # the next plain install is the no-op
        assert (
            json.loads((checkout / ".kmenv" / "state.json").read_text())[key]
            == json.loads((checked / ".kmenv" / "state.json").read_text())[key]
        )
    edited = new_project(warm, "edited")
    with (edited / "kmodels.yaml").open("a") as spec:
        spec.write("# an edit the lock was never checked against\n")
    assert falls_back(edited, frozen=False)
    assert not falls_back(new_project(edited, "edited-frozen"))  # --frozen does not look at kmodels.yaml


def test_what_the_warm_path_does_not_decide_goes_to_the_full_path(
    warm: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = new_project(warm, "kept")
    assert kmenv("-C", kept, "install", "--frozen").code == 0
    (kept / ".kmenv" / "models").unlink()
    assert falls_back(kept)  # a kept generation may match: only the full path compares them

    cleanup = new_project(warm, "cleanup")
    with (cleanup / "kmodels.yaml").open("a") as spec:
        spec.write("cleanup:\n  keep-generations: 2\n")
    assert falls_back(cleanup)
    monkeypatch.setenv("KMENV_KEEP_GENERATIONS", "2")
    monkeypatch.setenv("KMENV_CACHE_MAX", "10GiB")
    assert not falls_back(cleanup)  # both settings come from the environment: the file's cannot count
    monkeypatch.delenv("KMENV_KEEP_GENERATIONS")
    monkeypatch.delenv("KMENV_CACHE_MAX")

    monkeypatch.setenv("KMENV_SHARED_CACHE", str(warm.parent / "team"))
    assert falls_back(new_project(warm, "shared"))
    monkeypatch.delenv("KMENV_SHARED_CACHE")


def test_a_lock_with_groups_or_kaggle_models_goes_to_the_full_path(warm: Path) -> None:
    from kmenv.store.proven_locks import prove_lock
    from kmenv.values.sha256 import sha256_hex

    lock = json.loads((warm / "kmodels.lock").read_text())
    for name, change in (("grouped", "groups"), ("kaggle", "registry")):
        edited = json.loads(json.dumps(lock))
        if change == "groups":
            edited["models"]["iris"]["groups"] = ["eval"]
        else:
            edited["inputs"]["registries"]["example"]["type"] = "kaggle"
        folder = new_project(warm, name)
        text = json.dumps(edited, indent=2, sort_keys=True) + "\n"
        (folder / "kmodels.lock").write_text(text)
        prove_lock(cache(), sha256_hex(text.encode()))  # as if the full parser had accepted it
        assert is_proven(cache(), sha256_hex(text.encode()))
        assert falls_back(folder), name


def test_json_output_is_the_full_paths(warm: Path, kmenv: Runner) -> None:
    by_entry, by_full = new_project(warm, "json-entry"), new_project(warm, "json-full")
    result = kmenv("-C", by_entry, "install", "--frozen", "--json")
    assert result.code == 0
    assert app.run(["-C", str(by_full), "install", "--frozen", "--json"]) == 0
    entry = json.loads(result.out)
    assert set(entry) == {
        "schema_version",
        "generation",
        "switched",
        "relocked",
        "changes",
        "fetched_files",
        "fetched_bytes",
        "models",
        "groups",
        "environment",
        "cleanup",
    }
    assert entry["switched"] is True and entry["generation"] == 1 and entry["groups"] == ["default"]


def test_the_light_reader_agrees_with_the_lock_model(warm: Path) -> None:
    from kmenv.lockfile.document import parse_lock

    text = (warm / "kmodels.lock").read_text()
    full, view = parse_lock(text), light.LightLock.from_data(json.loads(text))
    assert light._DEFAULT_GROUP == DEFAULT_GROUP
    assert view.models.keys() == full.models.keys()
    for name, model in full.models.items():
        seen = view.models[name]
        assert (seen.handle, seen.version, seen.registry, seen.size) == (
            model.handle,
            model.version,
            model.registry,
            model.size,
        )
        assert (seen.license.spdx, seen.license.published) == (model.license.spdx, model.license.published)
        assert seen.groups == tuple(model.groups)
        assert [(f.path, f.sha256, f.size) for f in seen.files] == [(f.path, f.sha256, f.size) for f in model.files]
    assert view.registry_types == {name: r.type for name, r in full.inputs.registries.items()}
    for bad in ({}, {"lock-version": 2}, {"lock-version": 1, "inputs": {}, "models": {"m": {"version": "3"}}}):
        with pytest.raises(ValueError):
            light.LightLock.from_data(bad)


def test_the_command_line_shape_carries_what_the_warm_path_needs() -> None:
    from kmenv.cli.fast import _install_shape

    shape = _install_shape(["--color", "always", "-C", "D", "sync", "-v", "--cache-dir=C", "--offline", "--frozen"])
    assert shape is not None
    assert (shape.project, shape.cache_dir, shape.color, shape.flag) == ("D", "C", "always", "--frozen")
    assert (shape.verbose, shape.offline, shape.quiet, shape.no_color) == (True, True, False, False)
    assert _install_shape(["install", "--no-color", "-q", "--locked"]).flag == "--locked"  # type: ignore[union-attr]


def test_the_warm_path_honours_the_ledger_switch_and_the_cache_dir_option(
    warm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "run", lambda *a, **k: pytest.fail("the full path ran"))
    monkeypatch.setenv("KMENV_NO_LEDGER", "1")
    quiet = new_project(warm, "quiet")
    assert entry_point(["-C", str(quiet), "install", "--frozen"]) == 0
    assert rows(quiet) == []
    monkeypatch.delenv("KMENV_NO_LEDGER")
    elsewhere = new_project(warm, "elsewhere")
    monkeypatch.setattr(app, "run", lambda *a, **k: 99)  # another cache knows nothing: the full path's turn
    assert entry_point(["--cache-dir", str(warm.parent / "empty"), "-C", str(elsewhere), "install", "--frozen"]) == 99
