"""``kmenv validate``: compare the environment with the lock (missing, modified, extra files) and repair it.

Checking reads every installed byte (gigabytes for big models), so sizes are compared first (a
wrong size needs no read) and the rest is hashed by a pool of threads (hashlib releases the GIL).
Every problem is collected in one pass. Repair never edits a generation: it builds a new one
from the store (re-downloading blobs that are missing or damaged) and switches to it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.environment.layout import read_install_state
from kmenv.errors import NotInstalledError
from kmenv.ledger.events import Event

if TYPE_CHECKING:
    from kmenv.actions.install import InstallOutcome, InstallReporter
    from kmenv.actions.project import Project
    from kmenv.actions.state import ProjectState
    from kmenv.environment.generations import EnvironmentDir
    from kmenv.lockfile.document import LockFile
    from kmenv.store.blobstore import Store

__all__ = [
    "Damage",
    "Repair",
    "Validation",
    "ValidationReport",
    "repair_environment",
    "validate_environment",
    "validate_project",
]

_READ = 1 << 20


@dataclass(frozen=True)
class Damage:
    """One difference between the environment and the lock.

    ``kind`` is ``missing`` (a locked file is absent), ``modified`` (wrong size, wrong sha256,
    or not a regular file) or ``extra`` (present but not in the lock). ``path`` is
    ``<model>/<file>`` inside the generation; ``sha256`` the locked digest (None for extras).
    """

    kind: str
    path: str
    detail: str
    sha256: str | None = None

    def render(self) -> str:
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_environment` found in generation ``generation`` of ``environment``."""

    environment: Path
    generation: int
    files: int
    bytes: int
    problems: tuple[Damage, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "environment": str(self.environment),
            "generation": self.generation,
            "ok": self.ok,
            "files": self.files,
            "bytes": self.bytes,
            "problems": [
                {"kind": d.kind, "path": d.path, "detail": d.detail, "sha256": d.sha256} for d in self.problems
            ],
        }


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(_READ):
            digest.update(chunk)
    return digest.hexdigest()


def _entries(folder: Path) -> list[tuple[str, Path, os.stat_result]]:
    try:
        found = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [(e.name, Path(e.path), e.stat(follow_symlinks=False)) for e in found]


def validate_environment(env: EnvironmentDir, lock: LockFile, *, workers: int = 4) -> ValidationReport:
    """Check the generation ``env`` uses against ``lock``; raise NotInstalledError when nothing is installed."""
    generation = env.current()
    if generation is None:
        raise NotInstalledError(
            f"nothing is installed in {env.root}", hint="run `kmenv install` to create the environment"
        )
    expected = {f"{name}/{f.path}": f for name, model in lock.models.items() for f in model.files}
    folders = {"/".join(p.split("/")[:i]) for p in expected for i in range(1, p.count("/") + 1)}
    problems: list[Damage] = []
    to_hash: list[tuple[str, Path]] = []
    seen: set[str] = set()

    def visit(folder: Path, prefix: str) -> None:
        for name, path, info in _entries(folder):
            rel = prefix + name
            if rel in folders and stat.S_ISDIR(info.st_mode):
                visit(path, rel + "/")
                continue
            wanted = expected.get(rel)
            if wanted is None:  # an extra folder is reported once, not file by file
                problems.append(Damage("extra", rel, "folder" if stat.S_ISDIR(info.st_mode) else "file"))
                continue
            seen.add(rel)
            if not stat.S_ISREG(info.st_mode):
                problems.append(Damage("modified", rel, "not a regular file", wanted.sha256))
            elif info.st_size != wanted.size:
                problems.append(Damage("modified", rel, f"{info.st_size} bytes, locked {wanted.size}", wanted.sha256))
            else:
                to_hash.append((rel, path))

    visit(env.generation_path(generation), "")
    for rel, f in expected.items():
        if rel not in seen:
            problems.append(Damage("missing", rel, f"{f.size} bytes", f.sha256))
    with ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="kmenv-validate") as pool:
        digests = list(pool.map(_sha256_of, [path for _, path in to_hash]))
    for (rel, _), actual in zip(to_hash, digests, strict=True):
        locked = expected[rel].sha256
        if actual != locked:
            problems.append(Damage("modified", rel, f"sha256 {actual}, locked {locked}", locked))
    order = {"missing": 0, "modified": 1, "extra": 2}
    problems.sort(key=lambda d: (order[d.kind], d.path))
    total = sum(f.size for f in expected.values())
    return ValidationReport(env.root, generation, len(expected), total, tuple(problems))


def _drop_damaged_blobs(store: Store, report: ValidationReport) -> list[str]:
    """Delete store blobs of damaged files whose bytes no longer match their name; their sha256s.

    A hard-linked file modified in place (after a chmod) damages the blob too: same inode.
    """
    dropped = []
    for sha in sorted({d.sha256 for d in report.problems if d.sha256 is not None}):
        blob = store.blob_path(sha)
        try:
            good = _sha256_of(blob) == sha
        except FileNotFoundError:
            continue
        if not good:
            blob.unlink(missing_ok=True)
            dropped.append(sha)
    return dropped


def repair_environment(
    project: Project, state: ProjectState, report: ValidationReport, *, reporter: InstallReporter | None = None
) -> InstallOutcome:
    """Build and switch to a fresh generation of the lock, re-fetching blobs that are missing or damaged."""
    from kmenv.actions.install import install

    env = project.environment
    with env.lock():
        _drop_damaged_blobs(project.store, report)
        env.write_state({})  # forget what was installed: the next step checks everything and rebuilds
    # install takes the environment lock itself (flock on its own descriptor, so not while we hold ours)
    return install(project, state, frozen=True, reporter=reporter, rebuild=True)


@dataclass(frozen=True)
class Repair:
    """What ``--repair`` did: the generation now in use, the files fetched again, and whether it checks clean."""

    generation: int
    fetched_files: int
    ok: bool

    def to_dict(self) -> dict[str, object]:
        return {"generation": self.generation, "fetched_files": self.fetched_files, "ok": self.ok}


@dataclass(frozen=True)
class Validation:
    """``kmenv validate``: the report, the repair when one was asked for and needed, and a rollback to mention.

    ``rolled_back_from`` is the generation ``kmenv rollback`` left (when the environment is damaged
    only because it holds older models than the lock describes).
    """

    report: ValidationReport
    repaired: Repair | None = None
    rolled_back_from: int | None = None

    @property
    def ok(self) -> bool:
        return self.report.ok or (self.repaired is not None and self.repaired.ok)


def validate_project(
    project: Project,
    state: ProjectState | None = None,
    *,
    repair: bool = False,
    reporter: InstallReporter | None = None,
) -> Validation:
    """Check the environment against the lock; with ``repair``, rebuild it when damaged. Recorded in the ledger."""
    state = state or project.open()
    lock = state.require_lock()
    env, workers = project.environment, project.settings.max_workers
    report = validate_environment(env, lock, workers=workers)
    repaired = None
    if repair and not report.ok:
        outcome = repair_environment(project, state, report, reporter=reporter)
        after = validate_environment(env, lock, workers=workers)
        repaired = Repair(outcome.generation, outcome.fetched_files, after.ok)
    event = Event(
        "validate",
        project=str(project.root),
        environment=str(project.env_path),
        generation=report.generation,
        detail={"problems": len(report.problems)},
    )
    project.ledger.record([event])
    rolled_back = None
    if not report.ok and repaired is None:
        recorded = read_install_state(env.root)
        rolled_back = recorded.rolled_back_from if recorded is not None else None
    return Validation(report, repaired, rolled_back)
