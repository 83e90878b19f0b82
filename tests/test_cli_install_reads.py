"""One ``kmenv install`` reads and parses kmodels.yaml and kmodels.lock once each, and lists each version's files once.

Every open of the two project files is counted (``Path.read_bytes`` and ``Path.read_text`` go
through ``Path.open`` on every supported Python; anything else opens with the builtin ``open``, or with
``os.open`` as the capped reader does),
as are the parses and the registry's file listings, in-process through both the Python API and
the CLI, with and without a relock.
"""

from __future__ import annotations

import builtins
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner

import kmenv
from kmenv.lockfile import document as lock_document
from kmenv.registry.static.registry import StaticRegistry
from kmenv.spec import document as spec_document

PROJECT_FILES = ("kmodels.yaml", "kmodels.lock")


@dataclass
class Counts:
    reads: Counter[str] = field(default_factory=Counter)
    parses: Counter[str] = field(default_factory=Counter)
    listings: Counter[str] = field(default_factory=Counter)

    def clear(self) -> None:
        self.reads.clear()
        self.parses.clear()
        self.listings.clear()


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    found = Counts()
    real_open, real_path_open = builtins.open, Path.open

    def count(file: Any, mode: str) -> None:
        name = Path(file).name if isinstance(file, str | Path) else None
        if name in PROJECT_FILES and not any(c in mode for c in "wax+"):
            found.reads[name] += 1

    def counting_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        count(file, mode)
        return real_open(file, mode, *args, **kwargs)

    def counting_path_open(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        count(path, mode)  # Path.open calls io.open, which is left alone, so nothing is counted twice
        return real_path_open(path, mode, *args, **kwargs)

    def counted(module: Any, attr: str, key: str, into: Counter[str]) -> None:
        real = getattr(module, attr)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            into[key if key else str(args[1].handle)] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, attr, wrapper)

    real_os_open = os.open

    def counting_os_open(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        count(file, "w" if flags & (os.O_WRONLY | os.O_RDWR) else "r")
        return real_os_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(os, "open", counting_os_open)
    monkeypatch.setattr(Path, "open", counting_path_open)
    counted(spec_document, "parse_spec", "kmodels.yaml", found.parses)
    counted(lock_document, "parse_lock", "kmodels.lock", found.parses)
    counted(StaticRegistry, "files", "", found.listings)
    yield found


def relax_iris(example: Path) -> None:
    """An edit that makes the lock stale, so the next install re-locks."""
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))


def assert_once_each(counts: Counts, *, lock_parses: int = 1) -> None:
    assert counts.reads == {"kmodels.yaml": 1, "kmodels.lock": 1}, counts.reads
    assert counts.parses == {"kmodels.yaml": 1, "kmodels.lock": lock_parses}, counts.parses
    assert all(n == 1 for n in counts.listings.values()), counts.listings


def test_the_api_install_that_locks_reads_each_file_once(example: Path, counts: Counts) -> None:
    assert kmenv.install(example).switched
    assert counts.reads == {"kmodels.yaml": 1, "kmodels.lock": 1}  # the lock is looked for once, then written
    assert counts.parses == {"kmodels.yaml": 1}  # the lock it wrote is never parsed back
    assert counts.listings == {}, counts.listings  # the resolution's own listings serve the downloads


def test_the_api_install_of_a_stale_lock_relocks_reading_each_file_once(example: Path, counts: Counts) -> None:
    kmenv.install(example)
    relax_iris(example)
    counts.clear()
    outcome = kmenv.install(example)
    assert outcome.relocked and outcome.switched and outcome.fetched_files
    assert_once_each(counts)
    assert counts.listings == {}, counts.listings


def test_the_api_install_of_a_current_lock_reads_each_file_once(
    example: Path, counts: Counts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kmenv.lock(example)
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "empty-cache"))  # every blob must be fetched
    counts.clear()
    outcome = kmenv.install(example)
    assert outcome.switched and not outcome.relocked
    assert_once_each(counts)
    assert len(counts.listings) == 5


def test_the_cli_install_reads_each_file_once_with_and_without_a_relock(
    example: Path, kmenv: Runner, counts: Counts
) -> None:
    assert kmenv("-C", example, "install").code == 0
    relax_iris(example)  # the no-op check reads kmodels.yaml, sees the change and hands its bytes on
    counts.clear()
    result = kmenv("-C", example, "install")
    assert result.code == 0 and "Installed 5 models" in result.out, result.err
    assert counts.reads == {"kmodels.yaml": 1, "kmodels.lock": 1}, counts.reads
    assert counts.parses == {"kmodels.yaml": 1, "kmodels.lock": 1}, counts.parses
    assert counts.listings == {}, counts.listings  # every blob was in the store already

    (example / ".kmenv" / "state.json").unlink()  # no record: the full checking path, with no relock
    counts.clear()
    # the full path (the fast one prints no model count) finds generation 2 holds the lock: nothing is rebuilt
    assert kmenv("-C", example, "install").out.startswith("Environment up to date (5 models, generation 2)")
    assert_once_each(counts)
