"""The warm install: a new environment built from blobs the store already holds, without the heavy imports.

``kmenv install --frozen`` of a lock whose every blob is in the store, into an environment with no generation
yet (a new project, a fresh checkout in CI), needs no registry, resolver or download: only the lock's files,
linked. The full path (:func:`kmenv.actions.install.install`) still loads the lock model (pydantic) and the
network stack on the way, several times the cost of the work. This path takes it only when everything it would
decide is known without them, and otherwise answers None, so the caller takes the full path; an answer never
differs from the full path's apart from speed:

* the lock: its exact bytes were accepted by this version's full parser before (:mod:`kmenv.store.proven_locks`),
  so :class:`~kmenv.lockfile.light.LightLock` only reads it; with ``--frozen`` it is installed unchecked, as the
  full path does; without, a checking install must have found this lock fresh beside these exact
  ``kmodels.yaml`` bytes before (the rule the no-op fast path trusts): recorded in this ``state.json``, or in the
  cache (a new checkout of the same two files);
* the models: a plain install takes ``models:``, and the lock must hold nothing else (otherwise the generation's
  record is a narrowed lock, which only the lock model writes);
* the blobs: every one present and trusted by its seal (:func:`kmenv.store.integrity.seal_state`); one that
  needs hashing, or is damaged, is the full path's, which hashes it and fetches it again;
* the registries: none is Kaggle (Kaggle checks the caller's entitlement before handing over shared blobs);
* the cleanup settings: ``KMENV_KEEP_GENERATIONS`` and ``KMENV_CACHE_MAX``, or a ``kmodels.yaml`` with no
  ``cleanup`` anywhere (so the project's own settings cannot be in it);
* the environment: no generation in it (a kept one might match, and only the full path compares them).

Building, switching, the GC root, ``state.json``, the ledger rows and the cleanup after it are the full path's
own functions (:mod:`kmenv.actions.install_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kmenv.actions.install_steps import (
    Recorded,
    build_generation,
    check_space,
    clean_up,
    install_events_of,
    switch_generation,
)
from kmenv.environment._state_file import DEFAULT_GROUPS, STATE_FORMAT, read_state
from kmenv.environment.fastpath import digest_file
from kmenv.lockfile.light import LightLock, LightModel
from kmenv.lockfile.limits import MAX_LOCK_BYTES
from kmenv.spec.limits import MAX_SPEC_BYTES
from kmenv.store.integrity import seal_state
from kmenv.store.proven_locks import is_fresh, is_proven
from kmenv.values.documents import DocumentRefused, JsonBounds, parse_json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable

    from kmenv.actions.cleanup_policy import Cleanup, CleanupPolicy
    from kmenv.actions.project import Project

__all__ = ["WarmInstall", "warm_install"]


@dataclass(frozen=True)
class WarmInstall:
    """What a warm install did: the generation it switched to, the models in it, and what the cleanup did."""

    generation: int
    models: dict[str, LightModel]
    warnings: tuple[str, ...] = ()
    cleanup: Cleanup | None = None


@dataclass(frozen=True)
class _Plan:
    models: list[tuple[str, LightModel]]
    record: str
    recorded: Recorded
    policy: CleanupPolicy


def _plan(project: Project, *, frozen: bool, seen: dict[str, bytes | None]) -> _Plan | None:
    """Everything the install needs decided, with nothing written; None when the full path must decide."""
    spec_path, lock_path = str(project.spec_path), str(project.lock_path)
    spec_digest = digest_file(spec_path, seen, limit=MAX_SPEC_BYTES) if spec_path not in seen else _of(seen, spec_path)
    lock_digest = digest_file(lock_path, seen, limit=MAX_LOCK_BYTES) if lock_path not in seen else _of(seen, lock_path)
    spec, data = seen.get(spec_path), seen.get(lock_path)
    if not spec_digest or not lock_digest or spec is None or data is None:
        return None  # no lock, or a file the full path refuses
    store = project.store
    if not frozen and not (
        _vouched(project, spec_digest, lock_digest) or is_fresh(store.root, lock_digest, spec_digest)
    ):
        return None  # the lock may be stale: only the full path checks it
    if not is_proven(store.root, lock_digest):
        return None
    try:
        lock = LightLock.from_data(parse_json(data, JsonBounds(MAX_LOCK_BYTES)))
        record = data.decode("utf-8")
    except (DocumentRefused, ValueError):
        return None
    if "\r" in record or record.startswith("\ufeff"):
        return None  # the full path records the text as read with universal newlines
    wanted = lock.selected(DEFAULT_GROUPS)
    if wanted.keys() != lock.models.keys():
        return None
    models = sorted(wanted.items())
    for _, model in models:
        if lock.registry_types.get(model.registry, "kaggle") == "kaggle":
            return None
        if any(seal_state(store.root, f.sha256, f.size) != "intact" for f in model.files):
            return None
    policy = _cleanup_policy(project, spec)
    if policy is None:
        return None
    return _Plan(models, record, Recorded(lock_digest, spec_digest, not frozen, DEFAULT_GROUPS), policy)


def _vouched(project: Project, spec_digest: str, lock_digest: str) -> bool:
    """True when ``state.json`` records a checking install of exactly these two files (the no-op path's rule)."""
    state = read_state(project.env_path)
    if state is None or state["format"] != STATE_FORMAT or not state["fast_path"]:
        return False
    return (state["spec_sha256"], state["lock_sha256"]) == (spec_digest, lock_digest)


def _of(seen: dict[str, bytes | None], path: str) -> str | None:
    from kmenv.values.sha256 import sha256_hex

    data = seen[path]
    return None if data is None else sha256_hex(data)


def _cleanup_policy(project: Project, spec: bytes) -> CleanupPolicy | None:
    """The cleanup settings when ``kmodels.yaml`` cannot hold any (no ``cleanup``, no escapes, UTF-8), else None."""
    from kmenv.actions.cleanup_policy import cleanup_policy

    settings = project.settings
    overridden = settings.keep_generations is not None and settings.cache_max is not None
    if not overridden and (b"cleanup" in spec or b"\\" in spec or b"\x00" in spec):
        return None
    return cleanup_policy(settings, None)


def warm_install(
    project: Project, *, frozen: bool, seen: dict[str, bytes | None], phase: Callable[[str], None]
) -> WarmInstall | None:
    """Install the project's lock from the store alone when it is warm (see the module docstring); None otherwise.

    ``seen`` holds the project files read so far (path → bytes, None: absent) and receives those read here.
    ``phase`` hears the stage of work, as :meth:`~kmenv.actions.install.InstallReporter.phase` does.
    """
    env = project.environment
    if env.generations() or project.settings.shared_cache is not None:
        return None  # a kept generation may match; a team store's warnings are the full path's
    plan = _plan(project, frozen=frozen, seen=seen)
    if plan is None:
        return None
    with env.lock("installing"):
        if env.current() is not None or env.generations():
            return None  # another install got here first
        check_space(project, 0, plan.models)
        phase("linking")
        generation = build_generation(project, plan.models, plan.record)
        switch_generation(project, generation, plan.models, keep=plan.policy.keep, recorded=plan.recorded)
        models = dict(plan.models)
        project.ledger.record(install_events_of(str(project.root), str(project.env_path), generation, models))
    done, warnings = clean_up(project, plan.policy)
    return WarmInstall(generation, models, warnings, done)
