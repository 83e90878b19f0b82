"""Reading the cache for gc: blobs, partial downloads, cached registry answers, index entries, and environments.

Nothing is changed; the result is a :class:`~kmenv.store.gc_plan.CacheSnapshot` for
:func:`~kmenv.store.gc_plan.plan_gc` to decide on. The environments are the ones the cache's roots name;
the download folders are the ones its download roots name (only whether each is still there is read).
The store sits below the environment layer and cannot open an environment folder itself, so the caller
hands in ``open_environment`` (the gc use case passes the composition root's opener).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

from kmenv.fs.processes import HOST, pid_alive
from kmenv.store.digests import is_sha256
from kmenv.store.gc_plan import BlobFile, CacheSnapshot, DownloadSnapshot, EnvironmentSnapshot, LooseFile
from kmenv.store.roots import Root, read_download_roots, read_roots

__all__ = ["EnvironmentReader", "scan_cache"]


class EnvironmentReader(Protocol):
    """What gc reads of an environment folder (:class:`kmenv.environment.generations.EnvironmentDir` is one)."""

    def current(self) -> int | None: ...

    def generations(self) -> list[int]: ...

    def generation_path(self, generation: int) -> Path: ...


def _files(folder: Path) -> Iterable[tuple[Path, os.stat_result]]:
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            try:
                yield path, path.lstat()
            except FileNotFoundError:
                continue


def _partial(path: Path, info: os.stat_result) -> LooseFile:
    """A file under ``partial/`` or ``tmp/``: for whom, and whether a live writer on this host owns it.

    Private temp files are ``<key>.<host>-<pid>-<random>.tmp`` (plus ``.json`` beside them).
    """
    key, _, rest = path.name.partition(".")
    alive = False
    for suffix in (".tmp", ".tmp.json"):
        if rest.endswith(suffix):
            host, _, pid = rest[: -len(suffix)].rpartition("-")[0].rpartition("-")
            alive = host == HOST and pid.isdigit() and pid_alive(int(pid))
    points_to = key if is_sha256(key) else None
    return LooseFile("partial", path, info.st_size, info.st_mtime, alive=alive, points_to=points_to)


def _generation_files(folder: Path) -> tuple[int, dict[tuple[int, int], int]]:
    """Bytes only this generation holds (files with one link), and (size, inode)→count of its files."""
    own = 0
    inodes: dict[tuple[int, int], int] = {}
    for _path, info in _files(folder):
        if info.st_nlink <= 1:
            own += info.st_size
        inodes[(info.st_dev, info.st_ino)] = info.st_size
    return own, inodes


def _read_environment(
    root: Root,
    open_environment: Callable[[Path], EnvironmentReader],
    last_use: Mapping[str, float],
    blobs: Mapping[tuple[int, int], str],
) -> EnvironmentSnapshot:
    env = open_environment(root.environment)
    used = max(root.updated, last_use.get(str(root.environment), 0.0))
    if root.damaged or not (root.environment / "generations").is_dir():
        return EnvironmentSnapshot(root, False, None, {}, used)
    try:
        current = env.current()
    except Exception:  # a damaged link: treat as no current generation, keep everything recorded
        current = None
    sizes: dict[int, int] = {}
    unrecorded: dict[int, frozenset[str]] = {}
    for number in env.generations():
        own, inodes = _generation_files(env.generation_path(number))
        sizes[number] = own
        if number not in root.generations:
            # Built before roots existed (or the root was lost): protect the blobs it hard-links.
            unrecorded[number] = frozenset(blobs[key] for key in inodes if key in blobs)
    return EnvironmentSnapshot(root, True, current, sizes, used, unrecorded)


def scan_cache(
    cache: Path,
    *,
    open_environment: Callable[[Path], EnvironmentReader],
    last_use: Mapping[str, float] | None = None,
    now: float | None = None,
) -> CacheSnapshot:
    """Read the cache and the environments its roots name (no changes made).

    ``last_use``: environment path → UNIX time of its last use, when the caller knows better than the root.
    """
    cache = Path(cache)
    blobs: list[BlobFile] = []
    by_inode: dict[tuple[int, int], str] = {}
    for path, info in _files(cache / "blobs" / "sha256"):
        if is_sha256(path.name):
            blobs.append(BlobFile(path.name, path, info.st_size, info.st_ctime))
            by_inode[(info.st_dev, info.st_ino)] = path.name
    loose: list[LooseFile] = []
    for sub in ("partial", "tmp"):
        loose += [_partial(path, info) for path, info in _files(cache / sub)]
    loose += [LooseFile("metadata", path, info.st_size, info.st_mtime) for path, info in _files(cache / "http")]
    for path, info in _files(cache / "index"):
        try:
            target = path.read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            target = ""
        loose.append(LooseFile("index", path, info.st_size, info.st_mtime, points_to=target))
    environments = tuple(
        _read_environment(root, open_environment, last_use or {}, by_inode) for root in read_roots(cache)
    )
    downloads = tuple(DownloadSnapshot(r, not r.damaged and r.folder.is_dir()) for r in read_download_roots(cache))
    return CacheSnapshot(
        cache,
        time.time() if now is None else now,
        tuple(sorted(blobs, key=lambda b: b.sha256)),
        tuple(loose),
        environments,
        downloads,
    )
