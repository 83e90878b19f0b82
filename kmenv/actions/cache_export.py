"""``kmenv cache export DIR`` / ``kmenv cache warm``: fill a store-layout folder with the blobs of a project's lock.

The folder becomes a shared cache (``KMENV_SHARED_CACHE``, :mod:`kmenv.store.shared`) for other machines. Blobs come
from the personal store; those it lacks are downloaded into it first through the installer's fetch path, so the
export holds exactly what the lock names, every group included. Each blob is hashed again on its way into the
folder, so damage in the personal store is not handed on. This is the only command that writes a shared cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import UsageError

if TYPE_CHECKING:
    from kmenv.actions.project import Project
    from kmenv.fetch import ProgressSink
    from kmenv.registry.base import Registry

__all__ = ["CacheExport", "export_cache"]


@dataclass(frozen=True)
class CacheExport:
    """What an export did (or would do, with ``dry_run``); sizes in bytes.

    ``blobs``/``bytes``: every distinct blob the lock names; ``copied``: those written into ``target`` now (with
    ``dry_run``: those it lacks); ``downloaded``: those fetched from their registry first, as the personal store
    lacked them (with ``dry_run``: those it lacks).
    """

    target: Path
    dry_run: bool
    blobs: int
    bytes: int
    copied: int
    copied_bytes: int
    downloaded: int
    downloaded_bytes: int

    def to_dict(self) -> dict[str, object]:
        return {
            "target": str(self.target),
            "dry_run": self.dry_run,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "copied": self.copied,
            "copied_bytes": self.copied_bytes,
            "downloaded": self.downloaded,
            "downloaded_bytes": self.downloaded_bytes,
        }


def export_cache(
    project: Project, target: Path, *, dry_run: bool = False, progress: ProgressSink | None = None
) -> CacheExport:
    """Copy every blob of the project's lock into the store-layout folder ``target``; see the module docstring."""
    from kmenv.actions.install import fetch_jobs
    from kmenv.store.blobstore import Store
    from kmenv.store.shared import copy_blob

    store, settings = project.store, project.settings
    target = Path(target).expanduser().resolve()
    if target == store.root.resolve():
        raise UsageError(f"{target} is the personal cache itself", hint="export into a separate folder")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file, not a folder", hint="give a folder to export the store into")
    state = project.open()
    lock = state.require_lock()
    models = sorted(lock.models.items())
    blobs = {f.sha256: f.size for _, model in models for f in model.files}
    shared = Store(target)

    def registries() -> Mapping[str, Registry]:
        return project.registries(state.inputs)

    jobs = fetch_jobs(registries, store, models, {})
    downloaded = len(jobs), sum(job.entry.size for job in jobs)
    wanted = [(sha, size) for sha, size in blobs.items() if not shared.intact(sha, size)]
    if dry_run:
        copied = len(wanted), sum(size for _, size in wanted)
        return CacheExport(target, True, len(blobs), sum(blobs.values()), *copied, *downloaded)
    if jobs:
        from kmenv.fetch import fetch_all

        report = fetch_all(store, jobs, workers=settings.max_workers, progress=progress)
        downloaded = report.files, report.bytes_downloaded
    files = nbytes = 0
    for sha, size in wanted:
        if copy_blob(shared, store.blob_path(sha), sha, size, label=f"export {sha[:12]}"):
            files, nbytes = files + 1, nbytes + size
    return CacheExport(target, False, len(blobs), sum(blobs.values()), files, nbytes, *downloaded)
