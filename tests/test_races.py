"""Races between real processes: gc sweeping folders a blob is being published into, parallel edits of
kmodels.yaml, and a writer killed but not yet reaped (a zombie) holding on to its partial download.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import Runner

from kmenv.actions.project import environment_at
from kmenv.store.blobstore import Store
from kmenv.store.folders import folders_held
from kmenv.store.gc_scan import scan_cache
from kmenv.values.candidates import FileEntry

REPO = Path(__file__).resolve().parent.parent


def kmenv_proc(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmenv", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_gc_waits_for_a_writer_instead_of_removing_the_folder_it_is_filling(tmp_path: Path) -> None:
    """A writer between ``mkdir`` and rename holds the folder lock; gc's sweep waits rather than remove it."""
    cache = Path(os.environ["KMENV_CACHE_DIR"])
    store = Store(cache)
    data = b"published while gc runs"
    sha = hashlib.sha256(data).hexdigest()
    blob = store.blob_path(sha)
    source = tmp_path / "ready.bin"
    source.write_bytes(data)
    stale = cache / "partial" / f"{'0' * 64}.part"  # something for gc to delete, so that it sweeps
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 30 * 86400,) * 2)
    with folders_held(cache, exclusive=False):
        blob.parent.mkdir(parents=True)  # the writer made its shard folder: empty, for now
        gc = kmenv_proc("gc")
        time.sleep(1.5)  # gc has scanned, planned and reached the sweep by now
        assert gc.poll() is None, gc.communicate()
        assert blob.parent.is_dir()
        os.replace(source, blob)
    _, err = gc.communicate(timeout=60)
    assert gc.returncode == 0, err
    assert not stale.exists()  # gc did run to the end
    assert blob.read_bytes() == data


def test_publishing_blobs_while_gc_sweeps_in_a_loop_never_fails(tmp_path: Path) -> None:
    """Two processes publish hundreds of blobs, each into a new shard folder, while a third sweeps nonstop."""
    cache = Path(os.environ["KMENV_CACHE_DIR"])
    writer = textwrap.dedent(
        """
        import hashlib, sys
        from pathlib import Path
        from kmenv.store.blobstore import Store
        from kmenv.values.candidates import FileEntry
        store, tag = Store(Path(sys.argv[1])), sys.argv[2]
        for i in range(300):
            data = f"{tag}-{i}".encode()
            md5 = {"md5": hashlib.md5(data).hexdigest()}
            entry = FileEntry(f"f{i}", len(data), hashlib.sha256(data).hexdigest(), digests=md5)
            store.ingest(entry, lambda w: w.write(data))
            store.blob_path(entry.sha256).unlink()  # leave the shard folder empty for the sweeper
        """
    )
    sweeper = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from kmenv.store.gc_delete import _remove_empty_folders
        end = time.monotonic() + float(sys.argv[2])
        while time.monotonic() < end:
            _remove_empty_folders(Path(sys.argv[1]))
        """
    )
    sweep = subprocess.Popen([sys.executable, "-c", sweeper, str(cache), "6"], stderr=subprocess.PIPE, text=True)
    writers = [
        subprocess.Popen([sys.executable, "-c", writer, str(cache), tag], stderr=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    for proc in writers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    _, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 0, err


SPEC = """\
version: 1
registries:
  example:
    url: ../registry
models: {}
"""
HANDLES = {
    "adder": "kmenv-examples/bias-add/onnx/fp32",
    "iris": "kmenv-examples/iris/scikitLearn/logistic-regression",
    "flowers": "kmenv-examples/flower-classifier/keras/mobile",
    "gemma": "kmenv-examples/tiny-gemma/gguf/q8_0",
}


@pytest.fixture
def empty_project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples" / "registry", tmp_path / "registry")
    project = tmp_path / "project"
    project.mkdir()
    (project / "kmodels.yaml").write_text(SPEC)
    return project


def test_four_parallel_adds_into_one_project_all_land(empty_project: Path) -> None:
    procs = [kmenv_proc("-C", str(empty_project), "add", h, "--name", n) for n, h in HANDLES.items()]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    from kmenv.actions.state import ProjectState

    state = ProjectState(empty_project)
    assert set(state.spec.models) == set(HANDLES)
    assert state.lock is not None and set(state.lock.models) == set(HANDLES)  # the lock saw every model too


def test_parallel_removes_and_adds_lose_nothing(empty_project: Path) -> None:
    first = dict(list(HANDLES.items())[:2])
    for name, handle in first.items():
        proc = kmenv_proc("-C", str(empty_project), "add", handle, "--name", name)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    later = dict(list(HANDLES.items())[2:])
    procs = [kmenv_proc("-C", str(empty_project), "remove", n) for n in first]
    procs += [kmenv_proc("-C", str(empty_project), "add", h, "--name", n) for n, h in later.items()]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    from kmenv.actions.state import ProjectState

    state = ProjectState(empty_project)
    assert set(state.spec.models) == set(later)
    assert state.lock is not None and set(state.lock.models) == set(later)


_STUCK_WRITER = """
import hashlib, sys, time
from pathlib import Path
from kmenv.store.blobstore import Store
from kmenv.values.candidates import FileEntry
data = bytes(range(256)) * 4096
entry = FileEntry("big.bin", len(data), hashlib.sha256(data).hexdigest())
def produce(writer):
    writer.write(data[: len(data) // 2])
    writer._file.flush()
    print("half", flush=True)
    time.sleep(600)  # killed here
Store(Path(sys.argv[1])).ingest(entry, produce)
"""


def _stuck_writer(cache: Path) -> subprocess.Popen[str]:
    """A child that wrote half a blob and hangs; the caller kills it and does not reap it (a zombie)."""
    child = subprocess.Popen([sys.executable, "-c", _STUCK_WRITER, str(cache)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "half"
    os.kill(child.pid, signal.SIGKILL)
    child.stdout.close()
    deadline = time.monotonic() + 10
    while _state(child.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _state(child.pid) == "Z", "the killed writer should be a zombie until reaped"
    return child


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0].decode()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="zombies are told apart through /proc")
def test_a_killed_but_unreaped_writer_does_not_block_resume(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    child = _stuck_writer(cache)
    try:
        data = bytes(range(256)) * 4096
        entry = FileEntry("big.bin", len(data), hashlib.sha256(data).hexdigest())
        resumed_at: list[int] = []

        def produce(writer: object) -> None:
            from kmenv.store.writer import BlobWriter

            assert isinstance(writer, BlobWriter)
            resumed_at.append(writer.offset)
            writer.write(data[writer.offset :])

        assert Store(cache).ingest(entry, produce) is True
        assert resumed_at == [len(data) // 2]  # the zombie's half was adopted, not downloaded again
        assert Store(cache).blob_path(entry.sha256).read_bytes() == data
        assert list((cache / "partial").iterdir()) == []
    finally:
        child.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="zombies are told apart through /proc")
def test_gc_removes_an_old_partial_of_a_killed_but_unreaped_writer() -> None:
    cache = Path(os.environ["KMENV_CACHE_DIR"])
    child = _stuck_writer(cache)
    try:
        (temp,) = [p for p in (cache / "partial").iterdir() if p.name.endswith(".tmp")]
        week_ago = time.time() - 8 * 86400
        os.utime(temp, (week_ago, week_ago))
        scanned = [f for f in scan_cache(cache, open_environment=environment_at).loose if f.path == temp]
        assert scanned and scanned[0].alive is False
        proc = kmenv_proc("gc")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert not temp.exists()
    finally:
        child.wait()


def test_a_live_writers_partial_stays_out_of_reach(tmp_path: Path) -> None:
    """The opposite case: a writer that is merely slow keeps its temp file (gc and the next writer leave it)."""
    cache = tmp_path / "cache"
    child = subprocess.Popen([sys.executable, "-c", _STUCK_WRITER, str(cache)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "half"
        child.stdout.close()
        (temp,) = [p for p in (cache / "partial").iterdir() if p.name.endswith(".tmp")]
        scanned = [f for f in scan_cache(cache, open_environment=environment_at).loose if f.path == temp]
        assert scanned and scanned[0].alive is True
    finally:
        child.kill()
        child.wait()


def test_an_upgrade_refuses_to_apply_over_files_changed_since_it_planned(example: Path, kmenv: Runner) -> None:
    from kmenv.actions.project import Project
    from kmenv.actions.upgrade import apply_upgrade, plan_upgrade
    from kmenv.errors import UsageError

    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv("-C", example, "lock").code == 0
    spec.write_text(spec.read_text().replace("logistic-regression@<2", "logistic-regression@>=1,<3"))
    plan = plan_upgrade(Project(example), ["iris"])
    assert [m.name for m in plan.moves] == ["iris"]
    meanwhile = spec.read_text() + "  # another edit, made while the upgrade was planned\n"
    spec.write_text(meanwhile)
    lock = (example / "kmodels.lock").read_bytes()
    with pytest.raises(UsageError, match="changed while the upgrade was planned"):
        apply_upgrade(Project(example), plan)
    assert spec.read_text() == meanwhile and (example / "kmodels.lock").read_bytes() == lock
