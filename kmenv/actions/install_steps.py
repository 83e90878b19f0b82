"""The steps of an install both installers take: build a generation from store blobs, switch to it, record it.

:func:`kmenv.actions.install.install` (the full path) and :func:`kmenv.actions.install_warm.warm_install` (every
blob already in the store, the lock already proven) build, switch and record through these functions, so a
generation, ``state.json``, the GC root and the ledger rows come out the same whichever path made them.
Models are anything shaped as a :class:`~kmenv.lockfile.document.LockedModel` (the warm path passes
:class:`~kmenv.lockfile.light.LightModel`), so nothing here imports the lock model.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmenv.environment.layout import InstallState
from kmenv.ledger.events import Event

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Protocol

    from kmenv.actions.cleanup_policy import Cleanup, CleanupPolicy
    from kmenv.actions.project import Project

    class FileLike(Protocol):
        @property
        def path(self) -> str: ...
        @property
        def size(self) -> int: ...
        @property
        def sha256(self) -> str: ...

    class LicenceLike(Protocol):
        @property
        def published(self) -> str | None: ...
        @property
        def spdx(self) -> str | None: ...

    class ModelLike(Protocol):
        @property
        def handle(self) -> str: ...
        @property
        def version(self) -> int: ...
        @property
        def registry(self) -> str: ...
        @property
        def license(self) -> LicenceLike: ...
        @property
        def files(self) -> Sequence[FileLike]: ...
        @property
        def size(self) -> int: ...


__all__ = ["Recorded", "build_generation", "check_space", "clean_up", "install_events_of", "switch_generation"]


@dataclass(frozen=True)
class Recorded:
    """What ``state.json`` records beside the generation: the digests of the files installed from, whether the
    no-op fast path may trust them, and the lock's groups the generation holds."""

    lock_sha256: str | None
    spec_sha256: str | None
    fast_path: bool
    groups: tuple[str, ...]


def check_space(project: Project, missing: int, models: Sequence[tuple[str, ModelLike]]) -> None:
    """Fail before downloading (``missing`` bytes) or linking when a filesystem lacks room (StorageError, exit 7)."""
    from kmenv.store.blobstore import check_install_space

    linked = sum(model.size for _, model in models)
    check_install_space(
        project.store.root, project.env_path, missing=missing, linked=linked, link_mode=project.settings.link_mode
    )


def build_generation(project: Project, models: Sequence[tuple[str, ModelLike]], record: str) -> int:
    """A new generation of ``models`` linked from the store's blobs (the ``models`` link is left alone); its number.

    ``record`` is the text of the lock it materialises. The store keeps its seals across its own links.
    """
    env, store = project.environment, project.store
    layout = {name: [(f.path, store.blob_path(f.sha256)) for f in model.files] for name, model in models}
    generation = env.build(layout, link_mode=project.settings.link_mode, record=record)
    store.linked(f.sha256 for _, model in models for f in model.files)
    return generation


def switch_generation(
    project: Project, generation: int, models: Sequence[tuple[str, ModelLike]], *, keep: int, recorded: Recorded
) -> None:
    """Tell the cache which blobs ``generation`` uses (so gc keeps them), switch to it, record ``state.json``."""
    from kmenv.store.roots import record_generation

    env = project.environment
    files = {f.sha256: f"{name}/{f.path}" for name, model in models for f in model.files}
    record_generation(project.store.root, env.root, generation, files, existing=env.generations(), keep=keep)
    env.switch(generation)
    state = InstallState(
        generation, recorded.lock_sha256, recorded.spec_sha256, recorded.fast_path, groups=recorded.groups
    )
    env.write_state(state.to_json())


def install_events_of(
    project_root: str, env_path: str, generation: int, models: Mapping[str, ModelLike]
) -> list[Event]:
    """One ``install`` event per model of a generation just switched to."""
    return [
        Event(
            "install",
            project=project_root,
            environment=env_path,
            model=name,
            handle=model.handle,
            version=model.version,
            generation=generation,
            detail={"registry": model.registry, "license": model.license.spdx or model.license.published},
        )
        for name, model in sorted(models.items())
    ]


def clean_up(project: Project, policy: CleanupPolicy) -> tuple[Cleanup | None, tuple[str, ...]]:
    """Keep the last generations and the store's budget after a switch: what went, and the warnings.

    Trouble here is a warning, never a failure: the install itself succeeded. Run it after the environment lock is
    released (gc takes it to delete a generation). When nothing can go (see
    :func:`~kmenv.actions.cleanup_policy.cleanup_needed`), the cache is not even scanned.
    """
    from kmenv.actions.cleanup_policy import Cleanup, cleanup_needed

    try:
        if not cleanup_needed(policy, len(project.environment.generations())):
            return Cleanup(0, 0, 0), ()
        from kmenv.actions.gc import cleanup_after_install

        done = cleanup_after_install(project.store, project.ledger, project.env_path, policy)
    except Exception as exc:  # say what went wrong and carry on
        return None, (f"cleanup after install failed: {exc}",)
    return done, done.warnings
