"""Compare a folder tree with the files it should hold (path → size and sha256): missing, modified, extra.

Shared by ``kmenv validate`` (a generation against the lock) and ``kmenv validate DIR`` (a download
folder against its manifest). Checking reads every byte (gigabytes for big models), so sizes are
compared first (a wrong size needs no read) and the rest is hashed by a pool of threads (hashlib
releases the GIL). Every problem is collected in one pass; an extra folder is reported once, not
file by file.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kmenv.environment.linking import file_stat

__all__ = ["Damage", "Expected", "check_tree", "sha256_of"]

_READ = 1 << 20
_ORDER = {"missing": 0, "modified": 1, "extra": 2}


class Expected(Protocol):
    """What a file should be: a lock's entry or a manifest's."""

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...


@dataclass(frozen=True)
class Damage:
    """One difference between a folder and what it should hold.

    ``kind`` is ``missing`` (an expected file is absent), ``modified`` (wrong size, wrong sha256,
    or not a regular file) or ``extra`` (present but not expected). ``path`` is relative to the
    folder checked; ``sha256`` the expected digest (None for extras).
    """

    kind: str
    path: str
    detail: str
    sha256: str | None = None

    def render(self) -> str:
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "path": self.path, "detail": self.detail, "sha256": self.sha256}


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB pieces."""
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
    # a symlink is the file it names (files adopted from a notebook's mount); one that names nothing is missing
    listed = [(e.name, Path(e.path), file_stat(Path(e.path))) for e in found]
    return [(name, path, info) for name, path, info in listed if info is not None]


def check_tree(
    root: Path,
    expected: Mapping[str, Expected],
    *,
    workers: int = 4,
    word: str = "expected",
    ignore: Collection[str] = (),
) -> list[Damage]:
    """Every difference between ``root`` and ``expected`` (relative path → entry), sorted by kind then path.

    ``word`` names the record in messages ("locked", "recorded"); top-level names in ``ignore`` are skipped.
    """
    folders = {"/".join(p.split("/")[:i]) for p in expected for i in range(1, p.count("/") + 1)}
    problems: list[Damage] = []
    to_hash: list[tuple[str, Path]] = []
    seen: set[str] = set()

    def visit(folder: Path, prefix: str) -> None:
        for name, path, info in _entries(folder):
            rel = prefix + name
            if not prefix and name in ignore:
                continue
            if rel in folders and stat.S_ISDIR(info.st_mode):
                visit(path, rel + "/")
                continue
            wanted = expected.get(rel)
            if wanted is None:
                problems.append(Damage("extra", rel, "folder" if stat.S_ISDIR(info.st_mode) else "file"))
                continue
            seen.add(rel)
            if not stat.S_ISREG(info.st_mode):
                problems.append(Damage("modified", rel, "not a regular file", wanted.sha256))
            elif info.st_size != wanted.size:
                problems.append(Damage("modified", rel, f"{info.st_size} bytes, {word} {wanted.size}", wanted.sha256))
            else:
                to_hash.append((rel, path))

    visit(root, "")
    for rel, f in expected.items():
        if rel not in seen:
            problems.append(Damage("missing", rel, f"{f.size} bytes", f.sha256))
    with ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="kmenv-validate") as pool:
        digests = list(pool.map(sha256_of, [path for _, path in to_hash]))
    for (rel, _), actual in zip(to_hash, digests, strict=True):
        wanted_sha = expected[rel].sha256
        if actual != wanted_sha:
            problems.append(Damage("modified", rel, f"sha256 {actual}, {word} {wanted_sha}", wanted_sha))
    problems.sort(key=lambda d: (_ORDER[d.kind], d.path))
    return problems
