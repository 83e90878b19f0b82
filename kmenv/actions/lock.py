"""``kmenv lock``: resolve the project's inputs against its registries and write kmodels.lock.

Re-locking prefers the versions already locked while they stay eligible, so a lock only moves
when the inputs force it (or ``upgrade`` asks for it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kmenv.actions.state import ProjectState, write_lock
from kmenv.errors import LockfileError, StaleLockError
from kmenv.ledger.events import Event, origin
from kmenv.lockfile.document import LockedModel, LockFile, build_lock, dumps_lock, select_files, stale_reasons
from kmenv.lockfile.inputs import requirements
from kmenv.values.changes import VersionChange

#: Chosen models whose files are looked up at once; downloads among them share the registry's own budget.
MAX_PARALLEL_LISTINGS = 8

if TYPE_CHECKING:
    from kmenv.actions.project import Project
    from kmenv.fetch.progress import GrowingProgress, ProgressSink
    from kmenv.ledger.database import UsageLedger
    from kmenv.lockfile.document import DeclaredInputs
    from kmenv.registry.base import Registry, Transfer
    from kmenv.values.candidates import FileEntry

__all__ = [
    "LockOutcome",
    "ResolvedLock",
    "check_lock",
    "learning_progress",
    "lock_project",
    "locked_twice",
    "resolve_lock",
    "skipped_versions",
    "transfer_events",
    "version_changes",
]


@dataclass(frozen=True)
class ResolvedLock:
    """A resolution as a lock (nothing written), its warnings, and every file each resolved version publishes.

    ``listings`` (model name → the version's published files, before ``files:`` globs select) lets an
    install that follows fetch without asking the registry for the same listing again.
    """

    lock: LockFile
    warnings: tuple[str, ...] = ()
    listings: Mapping[str, Sequence[FileEntry]] = field(default_factory=dict)


@dataclass(frozen=True)
class LockOutcome:
    """What ``lock`` did: the new lock, whether the file changed, how versions moved, and the project now."""

    lock: LockFile
    text: str
    written: bool
    state: ProjectState
    changes: list[VersionChange] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    listings: Mapping[str, Sequence[FileEntry]] = field(default_factory=dict)


def resolve_lock(
    inputs: DeclaredInputs, registries: Mapping[str, Registry], *, preferred: Mapping[str, int] | None = None
) -> ResolvedLock:
    """Resolve the declared inputs into a lock (no file written)."""
    from kmenv.fetch.pool import map_interruptible
    from kmenv.resolve import resolve

    for reg_name, registry in registries.items():
        # fetch declared models' metadata concurrently, before resolving (a no-op where listing is cheap)
        registry.prefetch([m.handle for m in inputs.models.values() if m.registry == reg_name])
    resolution = resolve(requirements(inputs), registries, inputs.environment, inputs.policy, preferred=preferred or {})
    chosen = []
    listings: dict[str, Sequence[FileEntry]] = {}
    # Every chosen model's files at once: learning Kaggle sha256s downloads, under the registry's one budget.
    found = map_interruptible(
        lambda model, _: model.candidate.files or tuple(registries[model.candidate.registry].files(model.candidate)),
        resolution.models,
        workers=MAX_PARALLEL_LISTINGS,
        name="kmenv-listing",
    )
    for model, files in zip(resolution.models, found, strict=True):
        cand = model.candidate
        listings[model.name] = files
        declared = inputs.models.get(model.name)
        patterns = declared.files if (model.direct and declared is not None) else None
        selected = select_files(model.name, cand, files, patterns)
        chosen.append((model.name, cand, model.direct, model.base, model.required_by, model.verdict.spdx, selected))
    return ResolvedLock(build_lock(inputs, chosen), resolution.warnings, listings)


def skipped_versions(inputs: DeclaredInputs, registries: Mapping[str, Registry], lock: LockFile) -> list[str]:
    """Why newer published versions of locked models were passed over by the policy or the environment.

    Constraints the user wrote are left out: those are choices, not surprises. Registries answer
    from what resolution already fetched, so this costs no extra request.
    """
    from kmenv.values.handles import Handle

    notes: list[str] = []
    for name, model in sorted(lock.models.items()):
        published = registries[model.registry].versions(Handle.parse(model.handle))
        newer = [c for c in published if c.version > model.version]
        runs: list[tuple[list[int], str]] = []
        for cand in sorted(newer, key=lambda c: c.version):
            verdict = inputs.policy.evaluate(name, cand.handle, cand.license)
            reasons = ([] if verdict.allowed else [verdict.reason]) + inputs.environment.unmet(cand.requires)
            if not reasons:
                continue
            reason = "; ".join(reasons)
            if runs and runs[-1][1] == reason and runs[-1][0][-1] == cand.version - 1:
                runs[-1][0].append(cand.version)
            else:
                runs.append(([cand.version], reason))
        for versions, reason in runs:
            span = str(versions[0]) if len(versions) == 1 else f"{versions[0]}–{versions[-1]}"
            word = "version" if len(versions) == 1 else "versions"
            notes.append(f"{name}: {word} {span} skipped: {reason}")
    return notes


def version_changes(old: LockFile | None, new: LockFile) -> list[VersionChange]:
    """Every model added, removed or moved from ``old`` to ``new``, by name."""
    before = {n: m.version for n, m in (old.models.items() if old else ())}
    after = {n: m.version for n, m in new.models.items()}
    return [
        VersionChange(name, before.get(name), after.get(name))
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def check_lock(state: ProjectState) -> None:
    """``kmenv lock --check``: raise :class:`StaleLockError` unless the lock still fits the declaration."""
    reasons = stale_reasons(state.require_lock(), state.inputs)
    if reasons:
        raise StaleLockError(f"kmodels.lock is out of date: {'; '.join(reasons)}", hint="run `kmenv lock`")


def lock_project(
    project: Project, state: ProjectState | None = None, *, progress: ProgressSink | None = None
) -> LockOutcome:
    """Re-resolve, keeping locked versions where still eligible, and write the lock if it changed.

    Holds the project's lock (the one ``add``, ``remove``, ``upgrade`` and ``install`` take) from reading
    kmodels.yaml to writing kmodels.lock, so a concurrent edit is neither lost nor overwritten. ``state``
    is the project as already read (default: read it now); read before the lock was taken, it is kept
    only while the files still hold the same bytes. A corrupt lock is simply replaced by a fresh resolution.
    ``progress`` shows the downloads that learning Kaggle sha256s makes (none for other registries).
    """
    env = project.environment
    already = env.held
    with env.lock("locking"):
        if state is None:
            state = project.open()
        elif not already:
            fresh = ProjectState(project.root)
            if state.spec_bytes != fresh.spec_bytes or state.lock_bytes != fresh.lock_bytes:
                state = fresh
        return _lock_held(project, state, progress)


def _lock_held(project: Project, state: ProjectState, progress: ProgressSink | None) -> LockOutcome:
    try:
        previous, current = state.lock, state.lock_text
    except LockfileError:
        previous = current = None
    preferred = {n: m.version for n, m in previous.models.items()} if previous else {}
    inputs = state.inputs
    registries = project.registries(inputs)
    with learning_progress(registries.values(), progress):
        resolved = resolve_lock(inputs, registries, preferred=preferred)
    lock = resolved.lock
    skipped = tuple(skipped_versions(inputs, registries, lock))
    text = dumps_lock(lock)
    written = current != text
    after = write_lock(state, text, lock) if written else state
    outcome = LockOutcome(
        lock,
        text,
        written,
        after,
        changes=version_changes(previous, lock),
        warnings=(*resolved.warnings, *locked_twice(lock)),
        skipped=skipped,
        listings=resolved.listings,
    )
    _record(project.ledger, state, outcome)  # the usage ledger; never fails the lock
    project.ledger.record(transfer_events(state, lock, project.take_transfers()))
    return outcome


@contextlib.contextmanager
def learning_progress(
    registries: Iterable[Registry], progress: ProgressSink | None
) -> Iterator[GrowingProgress | None]:
    """Show on ``progress`` what the registries download while answering (Kaggle learning sha256s), as one batch.

    The batch grows as downloads start (their number is not known ahead); it ends when the block does. The
    block gets the growing sink (None without ``progress``), so its own downloads can join the same total.
    """
    if progress is None:
        yield None
        return
    from kmenv.fetch.progress import GrowingProgress

    shown = GrowingProgress(progress)
    watched = list(registries)
    for registry in watched:
        registry.show_progress(shown)
    try:
        yield shown
    finally:
        for registry in watched:
            registry.show_progress(None)
        shown.close()


def locked_twice(lock: LockFile) -> list[str]:
    """A warning for each instance locked under more than one name, as when a partial handle (``owner/model``)
    resolves to an instance another name declares in full: its files are installed once per name.

    kmodels.yaml refuses the same handle twice; only resolution can reveal that two handles meet.
    """
    names: dict[tuple[str, str], list[str]] = {}
    for name, model in lock.models.items():
        names.setdefault((model.registry, model.handle.lower()), []).append(name)
    return [
        f"{' and '.join(sorted(found))} are the same instance {lock.models[found[0]].handle} "
        f"(registry {registry!r}): it is locked and installed once per name; declare it once"
        for (registry, _), found in sorted(names.items())
        if len(found) > 1
    ]


def transfer_events(state: ProjectState, lock: LockFile, transfers: Sequence[Transfer]) -> list[Event]:
    """One ``download`` event per batch of file bytes a registry fetched to learn digests, like an install's.

    Kaggle publishes no sha256, so locking downloads the files; the install that follows fetches
    nothing, and without these the ledger would show a fresh install as having downloaded nothing.
    """
    by_handle: dict[tuple[str, int | None], tuple[str, LockedModel]] = {
        (m.handle, m.version): (name, m) for name, m in lock.models.items()
    }
    events = []
    for transfer in transfers:
        found = by_handle.get((str(transfer.handle.unversioned()), transfer.handle.version))
        name, model = found if found is not None else (None, None)
        events.append(
            Event(
                "download",
                project=str(state.root),
                environment=str(state.env_path),
                model=name,
                handle=model.handle if model else str(transfer.handle.unversioned()),
                version=transfer.handle.version,
                nbytes=transfer.nbytes,
                seconds=transfer.seconds,
                source=origin(transfer.url),
                detail={"registry": model.registry, "while": "lock"} if model else {"while": "lock"},
            )
        )
    return events


def _record(ledger: UsageLedger, state: ProjectState, outcome: LockOutcome) -> None:
    """A lock that changed the file: one ``lock`` event per version move (or one for the project)."""
    if not outcome.written or not ledger.enabled:
        return
    root, env = str(state.root), str(state.env_path)
    events = []
    for name, old, new in outcome.changes:
        model = outcome.lock.models.get(name)
        events.append(
            Event(
                "lock",
                project=root,
                environment=env,
                model=name,
                handle=model.handle if model else None,
                version=new,
                previous=old,
            )
        )
    if not events:
        events.append(Event("lock", project=root, environment=env, detail={"models": len(outcome.lock.models)}))
    ledger.record(events)
