"""Checking and mending a generation that is not (or not yet) in use, from what the cache recorded about it.

``validate`` compares the generation in use with ``kmodels.lock``; an older generation was built from an
older lock this project may no longer have. What remains of it is the cache's GC root (:mod:`kmenv.store.roots`):
the sha256 of every blob the generation uses and, for each, a ``model/path`` it sits at. A file counts as
intact when it still shares its inode with that blob and the blob's seal holds (one ``stat``, the usual case
with hard links), and otherwise when its bytes hash to its recorded digest (or, for a path the record does
not name, to one of the generation's digests). ``rollback`` checks its target this way before switching;
``validate --repair`` mends older generations by putting the store's intact blob in place of a damaged file.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmenv.environment.generations import EnvironmentDir
    from kmenv.store.blobstore import Store

__all__ = ["GenerationDamage", "check_generation", "mend_generation"]


@dataclass(frozen=True)
class GenerationDamage:
    """One file of a generation that is not what its generation recorded: ``missing`` or ``modified``.

    ``sha256`` is the digest it should have (None when the record names no path for it).
    """

    generation: int
    kind: str
    path: str
    sha256: str | None

    def render(self) -> str:
        return f"generation {self.generation}: {self.kind}: {self.path}"


def _recorded(store: Store, env: EnvironmentDir, generation: int) -> dict[str, str] | None:
    """``{sha256: "model/path"}`` the cache recorded for the generation; None when it has no record."""
    from kmenv.store.roots import read_roots

    folder = Path(env.root).absolute()
    for root in read_roots(store.root):
        if not root.damaged and root.environment == folder:
            files = root.generations.get(generation)
            return dict(files) if files is not None else None
    return None


def _files(folder: Path) -> dict[str, os.stat_result]:
    from kmenv.environment.linking import file_stat

    found: dict[str, os.stat_result] = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            info = file_stat(path)  # a symlink is the file it names; one naming nothing is missing
            if info is not None:
                found[path.relative_to(folder).as_posix()] = info
    return found


def check_generation(store: Store, env: EnvironmentDir, generation: int) -> list[GenerationDamage]:
    """Every file of ``generation`` that is missing or not its recorded bytes (see the module docstring).

    An empty list also when the cache has no record of the generation (nothing to compare with).
    """
    from kmenv.store.integrity import hash_file

    recorded = _recorded(store, env, generation)
    if recorded is None:
        return []
    folder = env.generation_path(generation)
    by_path = {label: sha for sha, label in recorded.items()}
    files = _files(folder)
    problems = [
        GenerationDamage(generation, "missing", label, sha)
        for label, sha in sorted(by_path.items())
        if label not in files
    ]
    hashed: dict[tuple[int, int], str] = {}
    for rel, info in sorted(files.items()):
        wanted = by_path.get(rel)
        candidates = [wanted] if wanted is not None else list(recorded)
        if not stat.S_ISREG(info.st_mode):  # a link or device in place of a file: never what was installed
            problems.append(GenerationDamage(generation, "modified", rel, wanted))
            continue
        if any(_same_intact_blob(store, sha, info) for sha in candidates):
            continue
        key = (info.st_dev, info.st_ino)
        if key not in hashed:
            hashed[key] = hash_file(folder / rel)
        if hashed[key] not in candidates:
            problems.append(GenerationDamage(generation, "modified", rel, wanted))
    return problems


def _same_intact_blob(store: Store, sha256: str, info: os.stat_result) -> bool:
    try:
        blob = store.blob_path(sha256).stat()
    except FileNotFoundError:
        return False
    return (blob.st_dev, blob.st_ino) == (info.st_dev, info.st_ino) and store.intact(sha256, blob.st_size)


def _intact(store: Store, sha256: str) -> bool:
    try:
        size = store.blob_path(sha256).stat().st_size
    except FileNotFoundError:
        return False
    return store.intact(sha256, size)


def mend_generation(
    store: Store, env: EnvironmentDir, problems: list[GenerationDamage], *, link_mode: str = "auto"
) -> tuple[list[GenerationDamage], list[GenerationDamage]]:
    """Put the store's intact blob in place of each damaged file; the ``(mended, left)`` problems.

    A file is replaced by a rename over it (a link or copy of the blob made beside it first), so a reader
    sees the old file or the mended one. What the store no longer holds intact (and the current lock does
    not fetch) is left, as is a modified file whose recorded digest is unknown.
    """
    from kmenv.environment.linking import Linker

    linker = Linker(link_mode)
    mended, left = [], []
    for problem in problems:
        if problem.sha256 is None or not _intact(store, problem.sha256):
            left.append(problem)
            continue
        target = env.generation_path(problem.generation) / problem.path
        temp = target.with_name(f".{target.name}.kmenv-mend")
        temp.unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        linker.link(store.blob_path(problem.sha256), temp)
        os.replace(temp, target)
        mended.append(problem)
    if mended:
        store.linked(p.sha256 for p in mended if p.sha256 is not None)
    return mended, left
