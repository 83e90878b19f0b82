"""``kmenv lock``: resolve the project's inputs against its registries and write kmodels.lock.

Re-locking prefers the versions already locked while they stay eligible, so a lock only moves
when the inputs force it (or ``upgrade`` asks for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kmenv.actions.project import Project
from kmenv.errors import LockfileError
from kmenv.ledger.database import record_lock
from kmenv.lockfile.document import LockFile, build_lock, dumps_lock, select_files
from kmenv.lockfile.inputs import requirements

__all__ = ["LockOutcome", "lock_project", "resolve_lock"]


@dataclass(frozen=True)
class LockOutcome:
    """What ``lock`` did: the new lock, whether the file changed, and how versions moved."""

    lock: LockFile
    text: str
    written: bool
    changes: list[tuple[str, int | None, int | None]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


def resolve_lock(project: Project, *, preferred: Mapping[str, int] | None = None) -> tuple[LockFile, tuple[str, ...]]:
    """Resolve the declared inputs into a lock (no file written)."""
    from kmenv.resolve import resolve

    inputs = project.inputs
    for reg_name, registry in project.registries.items():
        if hasattr(registry, "prefetch"):  # fetch declared models' metadata concurrently, before resolving
            registry.prefetch([m.handle for m in inputs.models.values() if m.registry == reg_name])
    resolution = resolve(
        requirements(inputs), project.registries, inputs.environment, inputs.policy, preferred=preferred or {}
    )
    chosen = []
    for model in resolution.models:
        cand = model.candidate
        files = cand.files or tuple(project.registries[cand.registry].files(cand))
        declared = inputs.models.get(model.name)
        patterns = declared.files if (model.direct and declared is not None) else None
        selected = select_files(model.name, cand, files, patterns)
        chosen.append((model.name, cand, model.direct, model.base, model.required_by, model.verdict.spdx, selected))
    return build_lock(inputs, chosen), resolution.warnings


def skipped_versions(project: Project, lock: LockFile) -> list[str]:
    """Why newer published versions of locked models were passed over by the policy or the environment.

    Constraints the user wrote are left out: those are choices, not surprises. Registries answer
    from what resolution already fetched, so this costs no extra request.
    """
    from kmenv.values.handles import Handle

    inputs = project.inputs
    notes: list[str] = []
    for name, model in sorted(lock.models.items()):
        published = project.registries[model.registry].versions(Handle.parse(model.handle))
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


def version_changes(old: LockFile | None, new: LockFile) -> list[tuple[str, int | None, int | None]]:
    """(name, old version, new version) for every model added, removed or moved."""
    before = {n: m.version for n, m in (old.models.items() if old else ())}
    after = {n: m.version for n, m in new.models.items()}
    return [
        (name, before.get(name), after.get(name))
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def lock_project(project: Project, *, previous: LockFile | None = None, use_previous: bool = True) -> LockOutcome:
    """Re-resolve, keeping locked versions where still eligible, and write the lock if it changed."""
    if previous is None and use_previous:
        try:
            previous = project.read_lock()
        except LockfileError:  # a corrupt lock is simply replaced by a fresh resolution
            previous = None
    preferred = {n: m.version for n, m in previous.models.items()} if previous else {}
    lock, warnings = resolve_lock(project, preferred=preferred)
    skipped = tuple(skipped_versions(project, lock))
    text = dumps_lock(lock)
    try:
        current = project.lock_path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        current = None
    written = current != text
    if written:
        project.write_lock(text)
    outcome = LockOutcome(lock, text, written, version_changes(previous, lock), warnings, skipped)
    record_lock(project, outcome)  # the usage ledger; never fails the lock
    return outcome
