"""Full and read-only disks, for real: small tmpfs mounts for the cache and the project, filled or remounted
read-only while kmenv runs. Every case ends in one clean line with exit 7, nothing truncated and the
environment on the generation it had.

Mounting needs root (and a kernel that allows it in this container); without it the tests are skipped.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fetch_faults import FaultServer, fault_servers, serve_folder, write_model_source, write_project

from kmenv.errors import EXIT_STORAGE, StorageError
from kmenv.fs.atomic import write_atomic
from kmenv.registry.static.build import build_registry

REPO = Path(__file__).resolve().parent.parent
SMALL = {"weights.bin": os.urandom(40 << 10)}
BIG = {"part1.bin": os.urandom(400 << 10), "part2.bin": os.urandom(400 << 10)}
INSTANCES = {"acme/small/pyTorch/default": {1: SMALL}, "acme/big/pyTorch/default": {1: BIG}}

Mount = Callable[[int], Path]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Mount]:
    """``make(kib)`` mounts a tmpfs of that size and returns its folder; all are unmounted after the test."""
    mounted: list[Path] = []

    def make(kib: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(folder)], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)


def fill(folder: Path) -> None:
    """Write a filler file until the disk refuses another byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (64 << 10, 4 << 10, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def kmenv(*args: str, cache: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KMENV_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "kmenv", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def assert_clean_refusal(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == EXIT_STORAGE, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "unexpected failure" not in done.stderr, done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1, done.stderr
    for word in words:
        assert word in error[0], error[0]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[FaultServer]:
    build_registry(write_model_source(tmp_path / "source", INSTANCES), tmp_path / "registry", name="acme")
    slow = {}
    for data in BIG.values():
        sha = hashlib.sha256(data).hexdigest()
        slow[f"files/sha256/{sha[:2]}/{sha}"] = 0.1  # about 640 KiB/s: the test fills the disk meanwhile
    with fault_servers() as start:
        server = start()
        serve_folder(server, tmp_path / "registry", throttle=slow)
        yield server


def test_the_cache_filling_during_a_download_keeps_the_old_generation(
    registry: FaultServer, small_disk: Mount, tmp_path: Path
) -> None:
    cache = small_disk(1024)
    project = write_project(tmp_path / "project", registry.url + "/", {"small": "acme/small/pyTorch/default"})
    assert kmenv("-C", str(project), "install", cache=cache).returncode == 0
    before = files_of(project / ".kmenv" / "models")
    write_project(
        project, registry.url + "/", {"small": "acme/small/pyTorch/default", "big": "acme/big/pyTorch/default"}
    )
    env = {**os.environ, "KMENV_CACHE_DIR": str(cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmenv", "-C", str(project), "install"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not any(p.name.endswith(".tmp") for p in (cache / "partial").iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    fill(cache)  # the free-space check passed; now the disk fills while the bytes arrive
    out, err = proc.communicate(timeout=120)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert_clean_refusal(done, str(cache), "No space left on device", "needs")
    assert os.readlink(project / ".kmenv" / "models") == "generations/1"
    assert files_of(project / ".kmenv" / "models") == before  # neither mixed nor extra files
    assert sorted(p.name for p in (project / ".kmenv" / "generations").iterdir() if not p.name.startswith(".")) == ["1"]
    (cache / "filler").unlink()  # room again: the same install now finishes, resuming what it had
    again = kmenv("-C", str(project), "install", cache=cache)
    assert again.returncode == 0, again.stderr
    assert files_of(project / ".kmenv" / "models" / "big") == BIG


IRIS = "  iris: kmenv-examples/iris/scikitLearn/logistic-regression@>=1,<3\n"


def _example_project(small_disk: Mount, tmp_path: Path, kib: int = 256) -> Path:
    shutil.copytree(REPO / "examples" / "registry", tmp_path / "registry")
    project = small_disk(kib)
    spec = (REPO / "examples" / "quickstart" / "kmodels.yaml").read_text().replace(IRIS, "")
    (project / "kmodels.yaml").write_text(spec.replace("url: ../registry", f"url: {tmp_path / 'registry'}"))
    return project


def test_add_and_remove_on_a_full_project_disk_change_nothing(small_disk: Mount, tmp_path: Path) -> None:
    project = _example_project(small_disk, tmp_path)
    cache = tmp_path / "cache"
    assert kmenv("-C", str(project), "install", cache=cache).returncode == 0
    spec, lock = (project / "kmodels.yaml").read_bytes(), (project / "kmodels.lock").read_bytes()
    fill(project)
    added = kmenv("-C", str(project), "add", "kmenv-examples/iris/scikitLearn/logistic-regression@<3", cache=cache)
    assert_clean_refusal(added, "kmodels.yaml", "No space left on device", "needs")
    removed = kmenv("-C", str(project), "remove", "adder", cache=cache)
    assert_clean_refusal(removed, "kmodels.yaml", "No space left on device")
    assert (project / "kmodels.yaml").read_bytes() == spec
    assert (project / "kmodels.lock").read_bytes() == lock
    assert not [p.name for p in project.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind


def test_the_first_edit_on_a_full_disk_names_the_environment_folder_it_could_not_make(
    small_disk: Mount, tmp_path: Path
) -> None:
    project = _example_project(small_disk, tmp_path)
    spec = (project / "kmodels.yaml").read_bytes()
    fill(project)
    added = kmenv("-C", str(project), "add", "kmenv-examples/iris/scikitLearn/logistic-regression@<3", cache=tmp_path)
    assert_clean_refusal(added, str(project / ".kmenv"), "No space left on device", "free")
    assert (project / "kmodels.yaml").read_bytes() == spec


def test_a_read_only_project_refuses_edits_cleanly(small_disk: Mount, tmp_path: Path) -> None:
    project = _example_project(small_disk, tmp_path)
    cache = tmp_path / "cache"
    spec = (project / "kmodels.yaml").read_bytes()
    read_only(project)
    added = kmenv("-C", str(project), "add", "kmenv-examples/iris/scikitLearn/logistic-regression@<3", cache=cache)
    assert_clean_refusal(added, "Read-only file system")
    locked = kmenv("-C", str(project), "lock", cache=cache)
    assert_clean_refusal(locked, "Read-only file system")
    assert (project / "kmodels.yaml").read_bytes() == spec


def test_a_read_only_cache_refuses_an_install_cleanly(small_disk: Mount, tmp_path: Path) -> None:
    cache = small_disk(256)
    read_only(cache)
    shutil.copytree(REPO / "examples" / "registry", tmp_path / "registry")
    shutil.copytree(REPO / "examples" / "quickstart", tmp_path / "quickstart", ignore=shutil.ignore_patterns(".kmenv"))
    done = kmenv("-C", str(tmp_path / "quickstart"), "install", cache=cache)
    assert_clean_refusal(done, str(cache), "Read-only file system")
    assert not (tmp_path / "quickstart" / ".kmenv" / "models").exists()


def test_an_environment_disk_filling_while_copying_keeps_the_old_generation(small_disk: Mount, tmp_path: Path) -> None:
    """Copies onto a full project disk: the half-built generation goes, the one in use stays."""
    project = _example_project(small_disk, tmp_path, kib=512)
    cache = tmp_path / "cache"
    first = kmenv("-C", str(project), "install", "--link-mode", "copy", cache=cache)
    assert first.returncode == 0, first.stderr
    before = files_of(project / ".kmenv" / "models")
    text = (project / "kmodels.yaml").read_text()
    (project / "kmodels.yaml").write_text(text + IRIS)
    assert kmenv("-C", str(project), "lock", cache=cache).returncode == 0
    free = shutil.disk_usage(project).free
    with open(project / "filler", "wb") as out:  # leave room for the check's estimate to pass, not for the copies
        out.write(b"\0" * max(free - (24 << 10), 0))
    done = kmenv("-C", str(project), "install", "--link-mode", "copy", cache=cache)
    assert done.returncode == EXIT_STORAGE, done.stderr
    assert "Traceback" not in done.stderr and "unexpected failure" not in done.stderr
    assert os.readlink(project / ".kmenv" / "models") == "generations/1"
    assert files_of(project / ".kmenv" / "models") == before
    assert not [p for p in (project / ".kmenv" / "generations").iterdir() if p.name.endswith(".tmp")]


def test_write_atomic_leaves_the_old_file_when_the_disk_is_full(small_disk: Mount) -> None:
    disk = small_disk(64)
    target = disk / "kmodels.lock"
    target.write_text("old and complete\n")
    fill(disk)
    with pytest.raises(StorageError) as caught:
        write_atomic(target, "x" * (200 << 10))
    assert caught.value.exit_code == EXIT_STORAGE and caught.value.path == str(target)
    assert "needs 200.0 KiB" in caught.value.message
    assert target.read_text() == "old and complete\n"
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "kmodels.lock"]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, ("Permission denied", "permissions")),
        (errno.EDQUOT, ("quota", "quota")),
        (errno.EROFS, ("Read-only file system", "read-only")),
    ],
)
def test_every_refusal_the_disk_can_give_is_one_storage_error(
    tmp_path: Path, code: int, words: tuple[str, str]
) -> None:
    """Refusals a root test cannot provoke for real (root ignores modes; quotas need a quota setup)."""
    from kmenv.fs.failures import refused_writes

    place = tmp_path / "kmodels.lock"
    with pytest.raises(StorageError) as caught, refused_writes(place, needed=10):
        raise OSError(code, os.strerror(code), str(tmp_path / ".kmodels.lock.1234.tmp"))
    assert caught.value.errno == code and caught.value.exit_code == EXIT_STORAGE
    assert caught.value.message.startswith(f"cannot write {place}: ") and words[0] in caught.value.message
    assert caught.value.hint is not None and words[1] in caught.value.hint
    with pytest.raises(FileNotFoundError), refused_writes(place):  # not a refusal: passes through untouched
        raise FileNotFoundError(errno.ENOENT, "gone")
