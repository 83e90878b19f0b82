"""``kmenv upgrade``: move locked models to newer versions, changing as little as possible, as a plan shown first.

Naming models moves only them (and what they force, such as a newer base model): every other
model keeps its locked version while it stays eligible. Without names everything moves to the
newest versions the constraints allow. ``latest=True`` first widens the named models'
constraints in kmodels.yaml just enough to admit the newest published version (the text edit
keeps comments and layout). :func:`plan_upgrade` writes nothing; :func:`apply_upgrade` writes
kmodels.yaml and kmodels.lock and installs a new generation, so ``kmenv rollback`` undoes it.

A dry run (``plan_upgrade(..., dry_run=True)``) reads metadata only. Kaggle lists no sha256, and
learning one downloads the file, so a dry plan takes a file's sha256 from the old lock when the
version is the locked one and otherwise leaves it unknown: that file counts as to be downloaded
(``UpgradePlan.unhashed``), and such a plan cannot be applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kmenv.actions.state import ProjectState
from kmenv.errors import NotInstalledError, UsageError
from kmenv.ledger.events import Event
from kmenv.lockfile.document import LockedModel, LockFile
from kmenv.registry.base import Registry
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle

if TYPE_CHECKING:
    from kmenv.actions.install import InstallOutcome, InstallReporter
    from kmenv.actions.project import Project
    from kmenv.fetch.progress import ProgressSink
    from kmenv.fetch.source import FileSource
    from kmenv.registry.kaggle import KaggleRegistry
    from kmenv.store.blobstore import Store

#: The sha256 a dry plan records for a file it did not download to hash (no blob is ever named so).
UNKNOWN_SHA256 = "0" * 64

__all__ = ["ConstraintEdit", "Move", "UpgradePlan", "apply_upgrade", "plan_upgrade", "widen"]


@dataclass(frozen=True)
class Move:
    """One model whose locked version changes (``old``/``new`` is None when it appears or goes).

    ``size_delta`` is the change in bytes installed; ``download`` the bytes of the new version's
    files the store does not hold yet.
    """

    name: str
    handle: str
    old: int | None
    new: int | None
    old_licence: str | None
    new_licence: str | None
    size_delta: int
    download: int

    @property
    def licence_changed(self) -> bool:
        return self.old is not None and self.new is not None and self.old_licence != self.new_licence

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "handle": self.handle,
            "old": self.old,
            "new": self.new,
            "old_license": self.old_licence,
            "new_license": self.new_licence,
            "license_changed": self.licence_changed,
            "size_delta": self.size_delta,
            "download": self.download,
        }


@dataclass(frozen=True)
class ConstraintEdit:
    """A version constraint ``--latest`` rewrites in kmodels.yaml (``""`` is no constraint)."""

    name: str
    old: str
    new: str
    latest: int


@dataclass(frozen=True)
class UpgradePlan:
    """What an upgrade would do; nothing is written until :func:`apply_upgrade`.

    ``state`` is the project as the plan leaves it before writing: its declaration already holds
    ``spec_text`` when ``--latest`` edited it (parsed once, while planning), its lock is the one read.
    ``read`` is what kmodels.yaml and kmodels.lock held when planning: applying refuses when either changed.
    """

    state: ProjectState
    moves: tuple[Move, ...]
    edits: tuple[ConstraintEdit, ...]
    lock: LockFile
    lock_text: str
    spec_text: str | None
    lock_changed: bool
    warnings: tuple[str, ...] = ()
    dry_run: bool = False
    unhashed: int = 0
    read: tuple[bytes | None, bytes | None] | None = None

    @property
    def changes_anything(self) -> bool:
        return bool(self.moves or self.edits or self.lock_changed)

    @property
    def download(self) -> int:
        return sum(m.download for m in self.moves)

    @property
    def size_delta(self) -> int:
        return sum(m.size_delta for m in self.moves)

    def as_dict(self) -> dict[str, object]:
        return {
            "moves": [m.as_dict() for m in self.moves],
            "constraints": [{"name": e.name, "old": e.old, "new": e.new, "latest": e.latest} for e in self.edits],
            "download": self.download,
            "size_delta": self.size_delta,
            "warnings": list(self.warnings),
            "unhashed_files": self.unhashed,
        }


def widen(versions: str, newest: int) -> str:
    """``versions`` without the clauses that exclude ``newest``: ``">=1,<3"`` and 4 give ``">=1"``. Pure."""
    from packaging.specifiers import Specifier

    kept = [part.strip() for part in versions.split(",") if part.strip()]
    return ",".join(p for p in kept if Specifier(p).contains(str(newest)))


def _licence(model: LockedModel | None) -> str | None:
    return None if model is None else model.license.spdx or model.license.published


def _moves(store: Store, old: LockFile, new: LockFile) -> list[Move]:
    from kmenv.actions.lock import version_changes

    moves = []
    for name, before, after in version_changes(old, new):
        was, now = old.models.get(name), new.models.get(name)
        either = now or was
        missing = {f.sha256: f.size for f in (now.files if now else ()) if not store.has_blob(f.sha256, f.size)}
        moves.append(
            Move(
                name=name,
                handle=either.handle if either else name,
                old=before,
                new=after,
                old_licence=_licence(was),
                new_licence=_licence(now),
                size_delta=(now.size if now else 0) - (was.size if was else 0),
                download=sum(missing.values()),
            )
        )
    return moves


class _ListingOnly(Registry):
    """A Kaggle registry seen by a dry run: its files come from the listing (sizes), never downloaded to hash.

    A file's sha256 comes from the old lock when the version is the locked one, else it is
    :data:`UNKNOWN_SHA256`; ``unhashed`` counts those files.
    """

    def __init__(self, inner: KaggleRegistry, lock: LockFile) -> None:
        self.inner = inner
        self.name = inner.name
        self.unhashed = 0
        self._hints: dict[Handle, dict[str, tuple[int, str, dict[str, str]]]] = {
            m.full_handle: {f.path: (f.size, f.sha256, dict(f.digests)) for f in m.files}
            for m in lock.models.values()
            if m.registry == inner.name
        }

    def instances(self, owner: str, model: str) -> Sequence[Handle]:
        return self.inner.instances(owner, model)

    def versions(self, instance: Handle) -> Sequence[Candidate]:
        return self.inner.versions(instance)

    def files(self, candidate: Candidate) -> Sequence[FileEntry]:
        hints = dict(self._hints.get(candidate.handle, {}))
        hints.update({f.path: (f.size, f.sha256, dict(f.digests)) for f in candidate.files})
        entries = []
        for remote in self.inner.list_files(candidate.handle):
            size, sha256, digests = hints.get(remote.path, (-1, UNKNOWN_SHA256, {}))
            if size == remote.size:
                entries.append(FileEntry(remote.path, remote.size, sha256, digests=digests))
            else:
                self.unhashed += 1
                entries.append(FileEntry(remote.path, remote.size, UNKNOWN_SHA256))
        return sorted(entries, key=lambda f: f.path)

    def source(self, candidate: Candidate, file: FileEntry) -> FileSource:
        return self.inner.source(candidate, file)

    def prefetch(self, handles: Iterable[Handle | str]) -> None:
        self.inner.prefetch(handles)


def _metadata_only(registries: Mapping[str, Registry], lock: LockFile) -> dict[str, Registry]:
    """``registries`` with each one that downloads files to hash them (Kaggle) seen through :class:`_ListingOnly`."""
    from kmenv.registry.kaggle import KaggleRegistry

    return {
        name: _ListingOnly(reg, lock) if isinstance(reg, KaggleRegistry) else reg for name, reg in registries.items()
    }


def _latest_edits(
    state: ProjectState, registries: Mapping[str, Registry], lock: LockFile, targets: Sequence[str]
) -> tuple[list[ConstraintEdit], str]:
    """Constraint edits admitting each target's newest published version, and the edited kmodels.yaml text."""
    from kmenv.spec.edit import set_model_versions

    text = state.spec_text
    edits = []
    for name in targets:
        declared = state.inputs.models.get(name)
        model = lock.models.get(name)
        if declared is None or model is None:
            continue
        published = registries[model.registry].versions(Handle.parse(model.handle))
        newest = max((c.version for c in published), default=None)
        if newest is None:
            continue
        widened = widen(declared.versions, newest)
        if widened != declared.versions:
            edits.append(ConstraintEdit(name, declared.versions, widened, newest))
            text = set_model_versions(text, name, widened, filename=str(state.spec_path))
    return edits, text


def plan_upgrade(
    project: Project,
    names: Sequence[str] = (),
    *,
    latest: bool = False,
    state: ProjectState | None = None,
    dry_run: bool = False,
    progress: ProgressSink | None = None,
) -> UpgradePlan:
    """Resolve the upgrade of ``names`` (all models when empty) and describe it; writes nothing.

    ``dry_run`` reads metadata only, never a file's bytes (see the module docstring); the plan it
    returns is for showing, not for :func:`apply_upgrade`. ``state`` is the project as already
    read (default: read it now). Raises
    :class:`NotInstalledError` for a name the lock lacks, and the resolver's errors when no
    resolution exists (then nothing changes). ``progress`` shows the downloads learning Kaggle sha256s makes.
    """
    from kmenv.actions.lock import learning_progress, resolve_lock
    from kmenv.lockfile.document import dumps_lock

    state = state or project.open()
    old = state.require_lock()
    unknown = [n for n in names if n not in old.models]
    if unknown:
        raise NotInstalledError(
            f"{state.lock_path.name} has no model named {', '.join(map(repr, unknown))}",
            hint=f"locked models: {', '.join(sorted(old.models)) or 'none'}",
        )
    edits: list[ConstraintEdit] = []
    spec_text = None
    target = state
    if latest:
        declared = [n for n, m in sorted(old.models.items()) if m.direct]
        edits, edited = _latest_edits(state, project.registries(state.inputs), old, list(names) or declared)
        if edits:
            spec_text = edited
            target = state.with_spec(edited)
    # The resolver meets a base model after the fine-tune that needs it, and re-pins a preferred version
    # that a new demand excludes, so preferring every unnamed model still lets forced moves happen.
    free = set(names) if names else set(old.models)
    preferred = {n: m.version for n, m in old.models.items() if n not in free}
    registries: Mapping[str, Registry] = project.registries(target.inputs)
    if dry_run:
        registries = _metadata_only(registries, old)
    with learning_progress(registries.values(), progress):
        resolved = resolve_lock(target.inputs, registries, preferred=preferred)
    new = resolved.lock
    text = dumps_lock(new)
    return UpgradePlan(
        state=target,
        moves=tuple(_moves(project.store, old, new)),
        edits=tuple(edits),
        lock=new,
        lock_text=text,
        spec_text=spec_text,
        lock_changed=text != state.lock_text,
        warnings=resolved.warnings,
        dry_run=dry_run,
        unhashed=sum(r.unhashed for r in registries.values() if isinstance(r, _ListingOnly)),
        read=(state.spec_bytes, state.lock_bytes),
    )


def apply_upgrade(
    project: Project, plan: UpgradePlan, *, install: bool = True, reporter: InstallReporter | None = None
) -> InstallOutcome | None:
    """Write kmodels.yaml (when ``--latest`` edited it) and kmodels.lock, record the moves, then install.

    Returns the install's outcome (a new generation), or None with ``install=False``. A dry-run
    plan is refused: its lock may lack sha256s.
    """
    if plan.dry_run:
        raise UsageError("a dry-run upgrade plan cannot be applied", hint="plan again without dry_run")
    from kmenv.actions.spec_change import editing

    # the project's lock, held until the new generation is in use
    with editing(project, operation="upgrading") as now:
        if plan.read is not None and (now.spec_bytes, now.lock_bytes) != plan.read:
            raise UsageError(
                f"{now.spec_path.name} or {now.lock_path.name} changed while the upgrade was planned; "
                "nothing was written",
                hint="run `kmenv upgrade` again to plan from the files as they are now",
            )
        return _apply(project, plan, install=install, reporter=reporter)


def _apply(
    project: Project, plan: UpgradePlan, *, install: bool, reporter: InstallReporter | None
) -> InstallOutcome | None:
    from kmenv.actions.install import install as run_install
    from kmenv.actions.lock import transfer_events
    from kmenv.actions.state import write_lock
    from kmenv.fs.atomic import write_atomic

    state = plan.state
    if plan.spec_text is not None:
        write_atomic(state.spec_path, plan.spec_text)  # the state already reads it (see UpgradePlan)
    if plan.lock_changed:
        state = write_lock(state, plan.lock_text, plan.lock)
    root, env = str(state.root), str(state.env_path)
    events = [
        Event("upgrade", project=root, environment=env, model=m.name, handle=m.handle, version=m.new, previous=m.old)
        for m in plan.moves
    ]
    events += [
        Event("upgrade", project=root, environment=env, model=e.name, detail={"constraint": [e.old, e.new]})
        for e in plan.edits
    ]
    # Kaggle: planning downloaded the new versions' files to learn their sha256s, so install fetches nothing
    events += transfer_events(state, plan.lock, project.take_transfers())
    project.ledger.record(events)
    if not install:
        return None
    from kmenv.lockfile.groups import GroupRequest

    return run_install(project, state, reporter=reporter, groups=GroupRequest(current=True))  # keep its groups
