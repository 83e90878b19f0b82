"""``kmenv install``: make the environment match the lock, locking first when needed.

Order of work keeps every failure harmless: blobs are fetched and verified into the store,
a complete new generation is built beside the current one, and only then does the
``models`` link switch. An interrupted or failed install leaves the previous generation in use.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from kmenv.actions.generation_content import installed_part, matching_generation
from kmenv.actions.install_steps import (
    Recorded,
    build_generation,
    check_space,
    clean_up,
    install_events_of,
    switch_generation,
)
from kmenv.actions.lock import lock_project
from kmenv.actions.state import ProjectState
from kmenv.environment.layout import InstallState, read_install_state
from kmenv.errors import IntegrityError, StaleLockError
from kmenv.ledger.events import Event, origin
from kmenv.lockfile.document import LockedModel, LockFile, dumps_lock, locked_candidate, stale_reasons
from kmenv.lockfile.groups import GroupRequest, lock_groups, select_groups, selected_models
from kmenv.store.proven_locks import prove_fresh, prove_lock
from kmenv.values.changes import VersionChange
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.cleanup_policy import Cleanup, CleanupPolicy
    from kmenv.actions.project import Project
    from kmenv.fetch import FetchJob, ProgressSink
    from kmenv.registry.base import Registry
    from kmenv.store.blobstore import Store
    from kmenv.values.candidates import FileEntry

__all__ = ["InstallOutcome", "InstallReporter", "fetch_jobs", "install", "install_events"]


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
    changes: list[VersionChange] = field(default_factory=list)
    fetched_files: int = 0
    fetched_bytes: int = 0
    warnings: tuple[str, ...] = ()
    #: the lock's groups the environment now holds (``default`` is ``models:``), and the models they take.
    groups: tuple[str, ...] = ("default",)
    models: Mapping[str, LockedModel] = field(default_factory=dict)
    #: what the cleanup after a switch removed (old generations, blobs over the budget); None when it did not run.
    cleanup: Cleanup | None = None


@dataclass(frozen=True)
class _Locked:
    """The lock to install and how it came about; ``state`` is the project after any relock."""

    lock: LockFile
    state: ProjectState
    relocked: bool = False
    changes: list[VersionChange] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    listings: Mapping[str, Sequence[FileEntry]] = field(default_factory=dict)


def _ensure_lock(
    project: Project, state: ProjectState, *, locked: bool, frozen: bool, reporter: InstallReporter
) -> _Locked:
    """The lock to install, re-resolving only when the inputs no longer admit it."""
    if frozen:
        return _Locked(state.require_lock(), state)
    current = state.lock
    reasons = [f"no {state.lock_path.name} yet"] if current is None else stale_reasons(current, state.inputs)
    if current is not None and not reasons:
        return _Locked(current, state)
    if locked:
        detail = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
        raise StaleLockError(
            f"{state.lock_path.name} is out of date with {state.spec_path.name}: {detail}",
            hint="run `kmenv lock` and commit the new lock, or drop --locked",
        )
    reporter.phase("resolving")
    outcome = lock_project(project, state, progress=reporter.downloads())  # learning Kaggle sha256s downloads
    reporter.relocked(reasons if current is not None else [])
    reporter.skipped(outcome.skipped)
    return _Locked(outcome.lock, outcome.state, True, outcome.changes, outcome.warnings, outcome.listings)


def fetch_jobs(
    registries: Callable[[], Mapping[str, Registry]],
    store: Store,
    models: Sequence[tuple[str, LockedModel]],
    listings: Mapping[str, Sequence[FileEntry]],
) -> list[FetchJob]:
    """Download jobs for every locked file whose blob the store lacks, sourced from its registry.

    ``registries`` opens them on first need (``--frozen`` with every blob present reads no declaration), and
    ``listings`` holds the published files of versions resolved in this same run: those are not asked for again.
    """
    from kmenv.fetch import FetchJob

    jobs: list[FetchJob] = []
    queued: set[str] = set()
    for name, model in models:
        wanted = [f for f in model.files if f.sha256 not in queued and not store.intact(f.sha256, f.size)]
        if not wanted:
            continue
        registry = registries()[model.registry]
        cand = locked_candidate(model)
        listing = listings.get(name)
        published = {f.path: f for f in (listing if listing is not None else registry.files(cand))}
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


def _locked_blobs(models: Sequence[tuple[str, LockedModel]]) -> list[tuple[str, int]]:
    """``(sha256, size)`` of every locked file of ``models``."""
    return [(f.sha256, f.size) for _, model in models for f in model.files]


def _authorise(
    registries: Callable[[], Mapping[str, Registry]],
    lock: LockFile,
    models: Sequence[tuple[str, LockedModel]],
    names: Collection[str],
    *,
    fetched: bool,
) -> None:
    """Let the registry of each model in ``names`` refuse this caller the blobs the shared store holds.

    ``fetched``: the caller just downloaded files of these models itself, which proves it (see
    ``Registry.authorise``). Only Kaggle keeps per-identity entitlements; other registries are not opened for this
    (an OCI registry's private repositories rely on the cache being the user's own).
    """
    for name, model in models:
        declared = lock.inputs.registries.get(model.registry)
        if name in names and (declared is None or declared.type == "kaggle"):
            registries()[model.registry].authorise(locked_candidate(model), fetched=fetched)


def install(
    project: Project,
    state: ProjectState | None = None,
    *,
    locked: bool = False,
    frozen: bool = False,
    reporter: InstallReporter | None = None,
    groups: GroupRequest | None = None,
    rebuild: bool = False,
) -> InstallOutcome:
    """Bring the environment in line with the lock (locking first if needed); see the module docstring.

    ``state`` is the project as already read (default: read it now, under the environment's lock). ``groups``
    chooses which of the lock's groups the environment holds (default: ``models:`` only); the lock always holds all.
    A kept generation whose content matches is switched to rather than built again, unless ``rebuild`` (a repair,
    which must not reuse the damaged generation).
    """
    reporter = reporter or InstallReporter()
    env, store, settings = project.environment, project.store, project.settings
    with env.lock("installing"):
        parsed = state is None  # a state handed in may hold a lock built in memory, never parsed
        state = state or project.open()
        ready = _ensure_lock(project, state, locked=locked, frozen=frozen, reporter=reporter)
        lock, state = ready.lock, ready.state
        recorded = read_install_state(env.root)
        installed = recorded.groups if recorded is not None else ()
        chosen = select_groups(groups or GroupRequest(), lock_groups(lock), installed)
        wanted = selected_models(lock, chosen)
        lock_digest = state.lock_sha256
        current = env.current()
        # a detected environment or a notebook's mount may change unseen, --frozen checked nothing: no fast path then
        outside = store.external(f for model in wanted.values() for f in model.files)
        fast = not frozen and not state.inputs.environment_record.get("detect") and not outside
        # The parser accepted these bytes: a warm install may read them without it, and without the declaration's
        # parser too when the staleness check passed beside these kmodels.yaml bytes.
        if parsed and not ready.relocked and lock_digest is not None:
            if fast and state.spec_sha256 is not None:
                prove_fresh(store.root, lock_digest, state.spec_sha256)
            else:
                prove_lock(store.root, lock_digest)

        if (
            current is not None
            and recorded is not None
            and recorded.lock_sha256 == lock_digest
            and recorded.generation == current
            and recorded.groups == chosen
            and all(store.intact(f.sha256, f.size) for f in outside)  # a mount gone or changed: build again
        ):
            env.write_state(InstallState(current, lock_digest, state.spec_sha256, fast, groups=chosen).to_json())
            return InstallOutcome(
                current,
                False,
                ready.relocked,
                lock,
                ready.changes,
                warnings=ready.warnings,
                groups=chosen,
                models=wanted,
            )

        models = sorted(wanted.items())
        held = installed_part(lock, wanted)  # what the generation holds, recorded beside it
        record = state.lock_text if held is lock and state.lock_text else dumps_lock(held)
        kept = None if rebuild or outside else matching_generation(env, held)
        recorded_now = Recorded(lock_digest, state.spec_sha256, fast, chosen)
        if kept is not None:  # a kept generation already holds exactly these files: use it, build no copy
            env.write_record(kept, record)
            policy = _cleanup_policy(project, state)
            switch_generation(project, kept, models, keep=policy.keep, recorded=recorded_now)
            outcome = InstallOutcome(
                kept,
                kept != current,
                ready.relocked,
                lock,
                ready.changes,
                warnings=ready.warnings,
                groups=chosen,
                models=wanted,
            )
            project.ledger.record(install_events(state, outcome, [], 0.0))
            return outcome

        opened = state

        def registries() -> Mapping[str, Registry]:
            return project.registries(opened.inputs)  # read and opened on first need (--frozen may not need them)

        from kmenv.store.shared import fill_from_shared

        # a team's read-only store first: what it holds (verified on the way) needs no download
        fill_from_shared(store, settings.shared_cache, _locked_blobs(models), warn=project.runtime.registry_warn)
        jobs = fetch_jobs(registries, store, models, ready.listings)
        # Blobs of models this run downloads nothing of come from the store alone (another identity may have
        # fetched them): their registry is asked first. Labels are "<model name>/<path>".
        downloading = {job.label.split("/", 1)[0] for job in jobs}
        _authorise(registries, lock, models, {name for name, _ in models} - downloading, fetched=False)
        fetched_files = fetched_bytes = 0
        fetch_seconds = 0.0
        _check_space(project, jobs, models)
        if jobs:
            from kmenv.fetch import fetch_all

            reporter.phase(f"fetching {counted(len(jobs), 'file')}")
            report = fetch_all(store, jobs, workers=settings.max_workers, progress=reporter.downloads())
            fetched_files, fetched_bytes, fetch_seconds = report.files, report.bytes_downloaded, report.seconds
            # a blob that appeared meanwhile was not downloaded by this caller, so it proves nothing
            _authorise(registries, lock, models, downloading, fetched=report.files_reused == 0)
        reporter.phase("linking")
        generation = build_generation(project, models, record)
        if fast and store.external(f for _, model in models for f in model.files):  # files it adopted from a mount
            recorded_now = Recorded(lock_digest, state.spec_sha256, False, chosen)
        policy = _cleanup_policy(project, state)
        switch_generation(project, generation, models, keep=policy.keep, recorded=recorded_now)
        warnings = ready.warnings + tuple(_damage_notes(store.damaged))
        outcome = InstallOutcome(
            generation,
            True,
            ready.relocked,
            lock,
            ready.changes,
            fetched_files,
            fetched_bytes,
            warnings,
            groups=chosen,
            models=wanted,
        )
        project.ledger.record(install_events(state, outcome, jobs, fetch_seconds))  # never fails the install
    return _clean_up(project, outcome, policy)  # after the environment lock: gc takes it to delete a generation


def _cleanup_policy(project: Project, state: ProjectState) -> CleanupPolicy:
    """The project's cleanup settings; a kmodels.yaml that --frozen never read and cannot parse leaves the defaults."""
    from kmenv.actions.cleanup_policy import cleanup_policy
    from kmenv.errors import KmenvError

    try:
        spec = state.spec if state.spec_bytes is not None else None
    except KmenvError:
        spec = None
    return cleanup_policy(project.settings, spec.cleanup if spec is not None else None)


def _clean_up(project: Project, outcome: InstallOutcome, policy: CleanupPolicy) -> InstallOutcome:
    """The outcome with what the cleanup after a switch removed (:func:`~kmenv.actions.install_steps.clean_up`)."""
    done, warnings = clean_up(project, policy)
    return replace(outcome, cleanup=done, warnings=(*outcome.warnings, *warnings))


def _damage_notes(damaged: Sequence[str]) -> list[str]:
    return [
        f"store blob {sha} had been modified in place (a hard-linked file written to?); it was fetched again. "
        "Other projects linking it are damaged too: `kmenv validate --repair` there, `kmenv cache verify` checks all"
        for sha in damaged
    ]


def _check_space(project: Project, jobs: Sequence[FetchJob], models: Sequence[tuple[str, LockedModel]]) -> None:
    """Fail before downloading when the cache or environment filesystem lacks room (StorageError, exit 7)."""
    check_space(project, sum(job.entry.size for job in jobs), models)


def install_events(
    state: ProjectState, outcome: InstallOutcome, jobs: Sequence[FetchJob], seconds: float
) -> list[Event]:
    """One ``install`` event per model of a switched generation, and one ``download`` per model that fetched bytes.

    ``fetch_all`` runs files in parallel, so time per model is not measured: each model gets the
    share of the batch's bytes and seconds its files make up. Nothing for an install that did not switch.
    """
    if not outcome.switched:
        return []
    root, env = str(state.root), str(state.env_path)
    events = install_events_of(root, env, outcome.generation, outcome.models)
    planned: dict[str, int] = {}
    origins: dict[str, str] = {}
    for job in jobs:
        name = job.label.split("/", 1)[0]
        planned[name] = planned.get(name, 0) + job.entry.size
        origins.setdefault(name, origin(job.source.url))
    total = sum(planned.values())
    if outcome.fetched_bytes and total:
        for name, size in sorted(planned.items()):
            model = outcome.lock.models.get(name)
            share = size / total
            events.append(
                Event(
                    "download",
                    project=root,
                    environment=env,
                    model=name,
                    handle=model.handle if model else None,
                    version=model.version if model else None,
                    generation=outcome.generation,
                    nbytes=round(outcome.fetched_bytes * share),
                    seconds=seconds * share,
                    source=origins[name],
                    detail={"registry": model.registry} if model else {},
                )
            )
    return events
