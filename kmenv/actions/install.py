"""``kmenv install``: make the environment match the lock, locking first when needed.

Order of work keeps every failure harmless: blobs are fetched and verified into the store,
a complete new generation is built beside the current one, and only then does the
``models`` link switch. An interrupted or failed install leaves the previous generation in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kmenv.actions.lock import lock_project, version_changes
from kmenv.actions.project import Project
from kmenv.environment.fastpath import digest_file
from kmenv.environment.layout import InstallState, read_install_state
from kmenv.errors import IntegrityError, StaleLockError
from kmenv.ledger.database import record_install
from kmenv.lockfile.document import LockedModel, LockFile, locked_candidate, stale_reasons

if TYPE_CHECKING:
    from kmenv.environment.generations import EnvironmentDir
    from kmenv.fetch import FetchJob, ProgressSink
    from kmenv.store.blobstore import Store

__all__ = ["InstallOutcome", "InstallReporter", "install"]


class InstallReporter:
    """Hooks for what the installer is doing; the CLI renders them, the default says nothing."""

    def phase(self, text: str) -> None:
        """A new stage of work begins (``resolving``, ``fetching 3 files``, ``linking``)."""

    def relocked(self, reasons: Sequence[str]) -> None:
        """The lock was (re)written; ``reasons`` say why (empty when there was no lock)."""

    def skipped(self, notes: Sequence[str]) -> None:
        """Newer versions the policy or the environment passed over while (re)locking."""

    def downloads(self) -> ProgressSink | None:
        """A sink for byte-level download progress, or None for none."""
        return None


@dataclass(frozen=True)
class InstallOutcome:
    """What an install did, for the CLI to summarise."""

    generation: int
    switched: bool
    relocked: bool
    lock: LockFile
    changes: list[tuple[str, int | None, int | None]] = field(default_factory=list)
    fetched_files: int = 0
    fetched_bytes: int = 0
    warnings: tuple[str, ...] = ()


def _ensure_lock(
    project: Project, *, locked: bool, frozen: bool, reporter: InstallReporter
) -> tuple[LockFile, bool, tuple[str, ...]]:
    """The lock to install, re-resolving only when the inputs no longer admit it."""
    from kmenv.actions.project import require_lock

    if frozen:
        return require_lock(project), False, ()
    current = project.read_lock()
    reasons = [f"no {project.lock_path.name} yet"] if current is None else stale_reasons(current, project.inputs)
    if current is not None and not reasons:
        return current, False, ()
    if locked:
        detail = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
        raise StaleLockError(
            f"{project.lock_path.name} is out of date with {project.spec_path.name}: {detail}",
            hint="run `kmenv lock` and commit the new lock, or drop --locked",
        )
    reporter.phase("resolving")
    outcome = lock_project(project, previous=current, use_previous=True)
    reporter.relocked(reasons if current is not None else [])
    reporter.skipped(outcome.skipped)
    return outcome.lock, True, outcome.warnings


def _fetch_jobs(project: Project, store: Store, models: Sequence[tuple[str, LockedModel]]) -> list[FetchJob]:
    """Download jobs for every locked file whose blob the store lacks, sourced from its registry."""
    from kmenv.fetch import FetchJob

    jobs: list[FetchJob] = []
    queued: set[str] = set()
    for name, model in models:
        wanted = [f for f in model.files if f.sha256 not in queued and not store.has_blob(f.sha256, f.size)]
        if not wanted:
            continue
        registry = project.registries[model.registry]
        cand = locked_candidate(model)
        published = {f.path: f for f in registry.files(cand)}
        for f in wanted:
            entry = published.get(f.path)
            if entry is None or entry.sha256 != f.sha256 or entry.size != f.size:
                actual = "no such file" if entry is None else f"sha256 {entry.sha256}, {entry.size} bytes"
                raise IntegrityError(
                    f"registry {model.registry!r} no longer serves {f.path} of {cand.handle} as locked "
                    f"(lock: sha256 {f.sha256}, {f.size} bytes; registry: {actual})",
                    hint="a published version changed; if that is expected, delete the model's entry from the lock "
                    "and run `kmenv lock` to re-resolve it",
                )
            jobs.append(FetchJob(source=registry.source(cand, entry), entry=entry, label=f"{name}/{f.path}"))
            queued.add(f.sha256)
    return jobs


def install(
    project: Project,
    *,
    locked: bool = False,
    frozen: bool = False,
    reporter: InstallReporter | None = None,
) -> InstallOutcome:
    """Bring the environment in line with the lock (locking first if needed); see the module docstring."""
    from kmenv.environment.generations import EnvironmentDir
    from kmenv.store.blobstore import Store

    reporter = reporter or InstallReporter()
    env = EnvironmentDir(project.env_path)
    with env.lock():
        previous_lock = project.read_lock() if not frozen else None
        lock, relocked, warnings = _ensure_lock(project, locked=locked, frozen=frozen, reporter=reporter)
        lock_digest = digest_file(project.lock_path)
        state = read_install_state(env.root)
        current = env.current()
        # A detected environment can change without any file changing, and --frozen skipped the
        # staleness check: neither may be trusted to the no-op fast path next time.
        fast = not frozen and not project.inputs.environment_record.get("detect")
        changes = version_changes(previous_lock, lock) if relocked else []

        if (
            current is not None
            and state is not None
            and state.lock_sha256 == lock_digest
            and state.generation == current
        ):
            env.write_state(_state(current, lock_digest, project, fast))
            return InstallOutcome(current, False, relocked, lock, changes, warnings=warnings)

        store = Store(project.settings.cache_dir)
        models = sorted(lock.models.items())
        jobs = _fetch_jobs(project, store, models)
        fetched_files = fetched_bytes = 0
        fetch_seconds = 0.0
        _check_space(project, store, jobs, models)
        if jobs:
            from kmenv.fetch import fetch_all

            reporter.phase(f"fetching {len(jobs)} files")
            report = fetch_all(store, jobs, workers=project.settings.max_workers, progress=reporter.downloads())
            fetched_files, fetched_bytes, fetch_seconds = report.files, report.bytes_downloaded, report.seconds
        reporter.phase("linking")
        layout = {name: [(f.path, store.blob_path(f.sha256)) for f in model.files] for name, model in models}
        generation = env.build(layout, link_mode=project.settings.link_mode)
        _record_root(store, env, generation, models)
        env.switch(generation)
        env.write_state(_state(generation, lock_digest, project, fast))
        outcome = InstallOutcome(generation, True, relocked, lock, changes, fetched_files, fetched_bytes, warnings)
        record_install(project, outcome, jobs, fetch_seconds)  # the usage ledger; never fails the install
        return outcome


def _check_space(
    project: Project, store: Store, jobs: Sequence[FetchJob], models: Sequence[tuple[str, LockedModel]]
) -> None:
    """Fail before downloading when the cache or environment filesystem lacks room (UsageError, exit 2)."""
    from kmenv.store.blobstore import check_install_space

    missing = sum(job.entry.size for job in jobs)
    linked = sum(model.size for _, model in models)
    check_install_space(
        store.root, project.env_path, missing=missing, linked=linked, link_mode=project.settings.link_mode
    )


def _record_root(store: Store, env: EnvironmentDir, generation: int, models: Sequence[tuple[str, LockedModel]]) -> None:
    """Tell the cache which blobs the new generation uses, so `kmenv gc` keeps them (before the switch)."""
    from kmenv.store.roots import record_generation

    files = {f.sha256: f"{name}/{f.path}" for name, model in models for f in model.files}
    record_generation(store.root, env.root, generation, files, existing=env.generations())


def _state(generation: int, lock_digest: str | None, project: Project, fast: bool) -> dict[str, object]:
    return InstallState(generation, lock_digest, digest_file(project.spec_path), fast).to_json()
