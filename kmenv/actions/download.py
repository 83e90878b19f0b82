"""``kmenv download``: a model version's files written into a folder, outside any project.

The bytes go through the same verified store the installer fills (checked against Kaggle's md5,
recorded by sha256), so a download already made is not repeated and a half-written file never
appears under its final name. Each folder written is recorded as a GC root
(:func:`kmenv.store.roots.record_download`), so ``kmenv gc`` keeps its blobs until the folder is
deleted, and a manifest (:mod:`kmenv.actions.download_manifest`) is left in it, so ``kmenv validate
DIR`` can check the folder later. Handles are read and folders named as :mod:`kmenv.actions.discovery`
shows them (``kmenv show`` prints the folder this writes).
"""

from __future__ import annotations

import fnmatch
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kmenv.actions.discovery.handles import default_download_dir, full_handle
from kmenv.actions.download_manifest import Manifest, write_manifest
from kmenv.errors import UsageError
from kmenv.store.roots import record_download
from kmenv.values.candidates import FileEntry
from kmenv.values.handles import Handle

if TYPE_CHECKING:
    from kmenv.fetch.progress import ProgressSink
    from kmenv.registry.kaggle import KaggleRegistry
    from kmenv.registry.kaggle.mapping import RemoteFile

__all__ = ["DownloadedModel", "download_models"]


@dataclass(frozen=True)
class DownloadedModel:
    """One version written under ``--path``: where, and which files (with their sha256)."""

    handle: Handle
    path: Path
    files: tuple[FileEntry, ...] = field(default_factory=tuple)
    #: files downloaded for this version (learning their sha256 included); 0 when the store had them all
    fetched: int = 0
    #: bytes downloaded for them
    fetched_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "handle": str(self.handle),
            "path": str(self.path),
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
            "fetched": self.fetched,
            "fetched_bytes": self.fetched_bytes,
        }


def _select(listing: Sequence[RemoteFile], patterns: Sequence[str], handle: Handle) -> list[str]:
    chosen: set[str] = set()
    for pattern in patterns:
        hits = [f.path for f in listing if f.path == pattern or fnmatch.fnmatchcase(f.path, pattern)]
        if not hits:
            shown = ", ".join(f.path for f in listing[:8]) + (", …" if len(listing) > 8 else "")
            raise UsageError(f"--file {pattern!r} matches no file of {handle}", hint=f"its files are: {shown}")
        chosen.update(hits)
    return sorted(chosen)


def _place(blob: Path, target: Path) -> bool:
    """Copy a verified blob to ``target`` atomically; False when an identical-size file is already there."""
    if target.is_file() and target.stat().st_size == blob.stat().st_size and _same(blob, target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        shutil.copyfile(blob, temp)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return True


def _same(a: Path, b: Path) -> bool:
    import filecmp

    return filecmp.cmp(a, b, shallow=False)


def download_models(
    registry: KaggleRegistry,
    handles: Sequence[str],
    *,
    path: Path,
    files: Sequence[str] | None = None,
    workers: int = 8,
    on_start: Callable[[Handle], None] | None = None,
    nested: bool = True,
    progress: ProgressSink | None = None,
) -> list[DownloadedModel]:
    """Download each ``owner/model/framework/variation[/version]`` into ``path/<owner>/<model>/<fw>/<var>/<version>/``,
    or with ``nested=False`` into ``path`` itself (one handle only: two versions' files would mix in one folder
    under one manifest).

    Bytes go through the store (verified against Kaggle's md5 and recorded by sha256), then are
    copied out; a file is written under its final name only when complete. Each version's folder is
    recorded as a GC root, and its manifest written, once its files are in place. The versions are learnt at once (one
    budget of ``workers`` downloads, shared through the registry). ``on_start`` hears of each
    version as its download begins, from the thread that learns it. ``progress`` shows every download (those
    learning sha256s and those the store still lacked after) as one growing batch.
    """
    from kmenv.actions.lock import learning_progress

    if not handles:
        raise UsageError("no handle given", hint="e.g. kmenv download keras/bert/keras/bert_tiny_en_uncased/2")
    parsed = [full_handle(h) for h in handles]
    if not nested and len(parsed) > 1:
        raise UsageError(
            f"--path {path} holds one model version's files; {len(parsed)} handles were given",
            hint="download them one at a time into separate folders, or add --nested for one subfolder per version",
        )

    def learn(handle: Handle, cancel: threading.Event) -> tuple[Handle, list[FileEntry]]:
        versioned = handle if handle.version is not None else handle.with_version(registry.instance_info(handle).latest)
        if on_start is not None:
            on_start(versioned)
        only = _select(registry.list_files(versioned), files, versioned) if files else None
        return versioned, registry.learn_files(versioned, only=only, cancel=cancel)

    with learning_progress([registry], progress) as shown:
        return _download(registry, parsed, learn, path=path, workers=workers, nested=nested, progress=shown)


def _download(
    registry: KaggleRegistry,
    parsed: Sequence[Handle],
    learn: Callable[[Handle, threading.Event], tuple[Handle, list[FileEntry]]],
    *,
    path: Path,
    workers: int,
    nested: bool,
    progress: ProgressSink | None,
) -> list[DownloadedModel]:
    from kmenv.fetch import FetchJob, fetch_all, map_interruptible

    store = registry.store
    assert store is not None, "discovery registries always have a store"
    # Every version at once: the registry's one budget of downloads bounds the connections, and Ctrl-C stops all.
    registry.take_transfers()
    versions = map_interruptible(learn, parsed, workers=min(len(parsed), workers), name="kmenv-versions")
    transfers = registry.take_transfers()  # Kaggle publishes no sha256: learning one downloads the file
    results = []
    for versioned, entries in versions:
        learned = [t for t in transfers if t.handle == versioned]
        from kmenv.values.candidates import Candidate

        candidate = Candidate(handle=versioned, registry=registry.name, license=None, files=tuple(entries))
        jobs = [
            FetchJob(registry.source(candidate, e), e, f"{versioned}/{e.path}")
            for e in entries
            if not store.intact(e.sha256, e.size)  # a blob damaged since it was proven is fetched again
        ]
        if len(jobs) < len(entries):  # blobs another identity may have fetched: only for one Kaggle authorised
            registry.authorise(candidate)
        report = fetch_all(store, jobs, workers=workers, progress=progress) if jobs else None
        if report is not None:
            registry.authorise(candidate, fetched=report.files_reused == 0)  # a blob that appeared meanwhile: ask
        fetched = sum(t.files for t in learned) + (report.files if report else 0)
        fetched_bytes = sum(t.nbytes for t in learned) + (report.bytes_downloaded if report else 0)
        folder = path / default_download_dir(versioned) if nested else path
        for entry in entries:
            target = folder.joinpath(*entry.path.split("/"))
            if not target.resolve().is_relative_to(folder.resolve()):
                raise UsageError(f"{entry.path!r} would land outside {folder}", hint="report the model to its owner")
            _place(store.blob_path(entry.sha256), target)
        record_download(store.root, folder, {entry.path: entry.sha256 for entry in entries})
        folder.mkdir(parents=True, exist_ok=True)
        write_manifest(folder, Manifest(str(versioned), registry.name, tuple(entries)))
        results.append(DownloadedModel(versioned, folder, tuple(entries), fetched, fetched_bytes))
    return results
