"""``kmenv mirror``: copy every model version a lock names into another registry a team or site controls.

A project that points its ``registries`` at the mirror locks to the same versions and the same sha256s and
installs without reaching the original source. The plan asks each source registry only for metadata (the
versions, their licence, requirements, base model and files); bytes come from the store, and what the
store lacks is downloaded through the verified pipeline first. The target is handed in (a static registry
folder, an OCI registry; anything with the :class:`MirrorTarget` methods) and checked blob by blob before
anything is written, so a second run writes nothing and an interrupted one resumes where it stopped. Blobs
are checked and written per instance because an OCI registry keeps them per repository; a folder, whose
blobs serve every instance, answers the second ask for a shared blob from the first write. Checks and
writes run ``KMENV_MAX_WORKERS`` at a time (biggest blobs first), the budget downloads share: against a
remote registry each blob costs round trips, and even on loopback one upload at a time leaves the
registry's other cores idle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kmenv.values.handles import Handle
from kmenv.values.times import utc_timestamp
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.install import InstallReporter
    from kmenv.actions.project import Project
    from kmenv.actions.state import ProjectState
    from kmenv.fetch import FetchJob
    from kmenv.fetch.progress import ProgressSink
    from kmenv.registry.base import Registry
    from kmenv.values.candidates import Candidate

__all__ = ["MirrorOutcome", "MirrorTarget", "mirror_lock"]

#: What a version needs when its source publishes no date (the static format requires one).
_UNDATED = "1970-01-01T00:00:00Z"


class MirrorTarget(Protocol):
    """Where mirrored versions go: :class:`~kmenv.registry.static.mirror.FolderMirror`, or
    :class:`~kmenv.registry.oci.mirror.OciMirror`. ``put_blob`` is called for a blob ``has_blob`` found
    missing, returns the bytes it wrote and tells ``on_bytes`` about them as they go. Both are called
    from several threads at once, never twice at the same time for one blob."""

    def has_blob(self, instance: Handle, sha256: str, size: int) -> bool: ...

    def put_blob(
        self, instance: Handle, sha256: str, size: int, source: Path, on_bytes: Callable[[int], None] | None = None
    ) -> int: ...

    def put_instance(self, handle: Handle, title: str | None, versions: Sequence[Any]) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class MirrorOutcome:
    """What a mirror run did (or, with ``dry_run``, would do)."""

    target: str
    versions: list[tuple[str, int]]  # (instance handle, version), sorted
    files: int
    total_bytes: int
    blobs_present: int
    blobs_written: int
    bytes_written: int
    fetched_files: int = 0
    fetched_bytes: int = 0
    dry_run: bool = False
    to_fetch: int = 0
    to_write: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "dry_run": self.dry_run,
            "versions": [{"handle": h, "version": v} for h, v in self.versions],
            "files": self.files,
            "total_bytes": self.total_bytes,
            "blobs_present": self.blobs_present,
            "blobs_written": self.blobs_written,
            "bytes_written": self.bytes_written,
            "fetched_files": self.fetched_files,
            "fetched_bytes": self.fetched_bytes,
            "bytes_to_fetch": self.to_fetch,
            "bytes_to_write": self.to_write,
        }


@dataclass(frozen=True)
class _Planned:
    """One version to mirror, as its source registry describes it."""

    registry: str
    candidate: Candidate


def _plan(
    registries: Mapping[str, Registry], lock_models: Sequence[tuple[str, str, int]], *, all_versions: bool
) -> list[_Planned]:
    """Every version to mirror: the locked ones, or every version of each locked instance; bases are locked too."""
    planned: dict[tuple[str, int], _Planned] = {}
    for registry_name, handle, version in lock_models:
        instance = Handle.parse(handle)
        for candidate in registries[registry_name].versions(instance):
            if all_versions or candidate.version == version:
                planned.setdefault((handle, candidate.version), _Planned(registry_name, candidate))
    return [planned[key] for key in sorted(planned)]


def mirror_lock(
    project: Project,
    state: ProjectState,
    target: MirrorTarget,
    *,
    all_versions: bool = False,
    dry_run: bool = False,
    reporter: InstallReporter | None = None,
    upload_progress: Callable[[], ProgressSink | None] | None = None,
) -> MirrorOutcome:
    """Copy the lock's model versions (with ``all_versions``, every version of their instances) into ``target``.

    ``upload_progress`` makes the sink that hears the blobs being written (called only when some are missing).
    """
    from kmenv.actions.install import InstallReporter
    from kmenv.fetch import FetchJob

    reporter = reporter or InstallReporter()
    lock = state.require_lock()
    registries = project.registries(state.inputs)
    reporter.phase("reading metadata")
    planned = _plan(
        registries,
        sorted({(m.registry, m.handle, m.version) for m in lock.models.values()}),
        all_versions=all_versions,
    )
    store = project.store
    listings: dict[tuple[str, int], Sequence[Any]] = {}
    jobs: list[FetchJob] = []
    queued: set[str] = set()
    blobs: dict[tuple[Handle, str], int] = {}  # (instance, sha256) → size: what each instance needs
    labels: dict[str, str] = {}  # sha256 → the first file it is, for progress
    for item in planned:
        registry = registries[item.registry]
        files = registry.files(item.candidate)
        instance = item.candidate.handle.unversioned()
        listings[(str(instance), item.candidate.version)] = files
        for entry in files:
            blobs[(instance, entry.sha256)] = entry.size
            labels.setdefault(entry.sha256, f"{item.candidate.handle}/{entry.path}")
            if entry.sha256 not in queued and not store.has_blob(entry.sha256, entry.size):
                queued.add(entry.sha256)
                label = f"{item.candidate.handle}/{entry.path}"
                jobs.append(FetchJob(source=registry.source(item.candidate, entry), entry=entry, label=label))
    needed = sorted(blobs.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))
    versions = [(str(p.candidate.handle.unversioned()), p.candidate.version) for p in planned]
    total = sum({sha: size for (_, sha), size in blobs.items()}.values())
    workers = project.settings.max_workers
    if dry_run:
        lacking = _missing(target, needed, workers)
        pairs = sum(len(instances) for _, instances in lacking.values())
        return MirrorOutcome(
            str(target),
            versions,
            len(blobs),
            total,
            len(blobs) - pairs,
            0,
            0,
            dry_run=True,
            to_fetch=sum(job.entry.size for job in jobs),
            to_write=sum(size * len(instances) for size, instances in lacking.values()),
        )
    fetched_files = fetched_bytes = 0
    if jobs:
        from kmenv.fetch import fetch_all

        reporter.phase(f"fetching {counted(len(jobs), 'file')}")
        report = fetch_all(store, jobs, workers=project.settings.max_workers, progress=reporter.downloads())
        fetched_files, fetched_bytes = report.files, report.bytes_downloaded
    reporter.phase(f"writing blobs to {target}")
    lacking = _missing(target, needed, workers)
    sink = upload_progress() if upload_progress is not None and lacking else None
    put, written = _put_blobs(target, lacking, store.blob_path, labels, workers, sink)
    _write_documents(target, planned, listings)
    target.finish()
    return MirrorOutcome(
        str(target),
        versions,
        len(blobs),
        total,
        len(blobs) - put,
        put,
        written,
        fetched_files,
        fetched_bytes,
    )


def _missing(
    target: MirrorTarget, needed: Sequence[tuple[tuple[Handle, str], int]], workers: int
) -> dict[str, tuple[int, list[Handle]]]:
    """sha256 → (size, the instances lacking it), asking the target about every blob, ``workers`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, min(workers, len(needed)))) as pool:
        present = list(pool.map(lambda kv: target.has_blob(kv[0][0], kv[0][1], kv[1]), needed))
    missing: dict[str, tuple[int, list[Handle]]] = {}
    for ((instance, sha), size), there in zip(needed, present, strict=True):
        if not there:
            missing.setdefault(sha, (size, []))[1].append(instance)
    return missing


def _put_blobs(
    target: MirrorTarget,
    missing: Mapping[str, tuple[int, Sequence[Handle]]],
    blob_path: Callable[[str], Path],
    labels: Mapping[str, str],
    workers: int,
    sink: ProgressSink | None,
) -> tuple[int, int]:
    """Write the missing blobs, ``workers`` at a time; how many puts and bytes that took.

    One task per blob puts it into each instance lacking it in turn, so the second and later ones can
    mount it from the first (an OCI registry moves no bytes then) or find it there already (a folder's
    blobs serve every instance). Progress counts the first put of each blob; the first failure stops
    the rest and is raised.
    """
    from concurrent.futures import ThreadPoolExecutor

    from kmenv.fetch.progress import NullProgress, SerialProgress

    progress = SerialProgress(sink) if sink is not None else NullProgress()
    progress.begin(len(missing), sum(size for size, _ in missing.values()))

    def put(sha: str) -> tuple[int, int]:
        size, instances = missing[sha]
        label = labels.get(sha, sha[:12])
        progress.start(label, size)
        puts = sent = 0
        for n, instance in enumerate(instances):
            if n and target.has_blob(instance, sha, size):
                continue
            hear = (lambda nbytes: progress.advance(label, nbytes)) if n == 0 else None
            sent += target.put_blob(instance, sha, size, blob_path(sha), on_bytes=hear)
            puts += 1
        progress.finish(label)
        return puts, sent

    pool = ThreadPoolExecutor(max(1, min(workers, len(missing))))
    try:
        futures = [pool.submit(put, sha) for sha in sorted(missing, key=lambda sha: -missing[sha][0])]
        done = [future.result() for future in futures]
        return sum(p for p, _ in done), sum(b for _, b in done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.end()


def _write_documents(
    target: MirrorTarget, planned: Sequence[_Planned], listings: Mapping[tuple[str, int], Sequence[Any]]
) -> None:
    """One document per instance, each version with what a resolver reads from it."""
    from kmenv.policy.table import licence_table
    from kmenv.registry.static.mirror import MirroredFile, MirroredVersion

    by_instance: dict[Handle, list[_Planned]] = {}
    for item in planned:
        by_instance.setdefault(item.candidate.handle.unversioned(), []).append(item)
    for instance, items in sorted(by_instance.items(), key=lambda kv: str(kv[0])):
        versions = []
        for item in items:
            c = item.candidate
            base = None
            if c.base is not None:
                pin = f"=={c.base.handle.version}" if c.base.handle.version else ""
                base = (str(c.base.handle.unversioned()), ",".join(v for v in (c.base.versions, pin) if v))
            files = listings[(str(instance), c.version)]
            versions.append(
                MirroredVersion(
                    version=c.version,
                    license=c.license,
                    requires=_own_requirements(c),
                    base=base,
                    published=utc_timestamp(c.published) or _UNDATED,
                    files=tuple(MirroredFile(f.path, f.size, f.sha256) for f in files),
                    spdx=licence_table().normalise(c.license).spdx,
                    source=f"{item.registry}:{c.handle}",
                )
            )
        target.put_instance(instance, items[0].candidate.title, versions)


def _own_requirements(candidate: Candidate) -> dict[str, str]:
    """The version's requirements without what its framework implies (the reading registry adds those back)."""
    from kmenv.values.target import framework_requirements

    implied = framework_requirements(candidate.framework)
    own = {}
    for name, spec in candidate.requires.items():
        base = implied.get(name)
        if base is None:
            own[name] = spec
        elif spec != base:
            own[name] = spec.removeprefix(f"{base},")
    return own
