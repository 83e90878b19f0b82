"""The composition root: the one place that builds the run's settings and edges and opens a project's files.

:class:`Runtime` holds what every project of one run shares: the :class:`~kmenv.config.Settings`,
the store and the usage ledger. :class:`Project` adds one project folder: its environment folder,
its registries (each declaration opened once, on first use) and :meth:`Project.open`, which
reads ``kmodels.yaml`` and ``kmodels.lock`` into an immutable :class:`~kmenv.actions.state.ProjectState`.
Project actions take the project, whose edges they execute through, and the state they plan from
(read on the spot when not given): ``install(project, state)``, in the shape of pypa/installer's
``install(source, destination)``. Machine-wide actions (gc, usage) take the store and ledger
themselves. Nothing else in :mod:`kmenv.actions` or :mod:`kmenv.cli` constructs an edge, and every
edge is built lazily, so a command pays only for those it touches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path

from kmenv.actions.state import UNREAD, ProjectState
from kmenv.config import Settings
from kmenv.environment.layout import ProjectPaths, find_project_dir
from kmenv.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the warm install opens a project)
if TYPE_CHECKING:
    from kmenv.environment.generations import EnvironmentDir
    from kmenv.ledger.database import UsageLedger
    from kmenv.lockfile.document import DeclaredInputs, LockFile
    from kmenv.registry.base import Registry, Transfer
    from kmenv.registry.kaggle import KaggleRegistry
    from kmenv.store.blobstore import Store

__all__ = ["Project", "Runtime", "environment_at"]

Warn = Callable[[str], None]


def environment_at(folder: Path, *, on_wait: Warn | None = None) -> EnvironmentDir:
    """The environment folder at ``folder``: a project's own, or one that a GC root names (``kmenv gc``).

    ``on_wait`` hears that another kmenv holds the folder's lock, before this run waits for it.
    """
    from kmenv.environment.generations import EnvironmentDir

    return EnvironmentDir(folder, on_wait=on_wait)


def _notice_on_stderr(text: str) -> None:
    import sys

    print(text, file=sys.stderr, flush=True)


class _Declared(dict[str, "Registry"]):
    """The registries a project declares, by name; asking for another is a usage error, not a ``KeyError``.

    Every registry name an action looks up comes from the lock (or a candidate resolved from it), and a lock
    copied from another project, or edited by hand, may name one this project's kmodels.yaml does not declare.
    """

    def __missing__(self, name: str) -> Registry:
        declared = ", ".join(repr(n) for n in sorted(self)) or "none"
        raise UsageError(
            f"kmodels.lock names the registry {name!r}, which kmodels.yaml does not declare (it declares {declared})",
            hint=f"declare {name!r} under registries: in kmodels.yaml, or run `kmenv lock` to lock from those declared",
        )


class Runtime:
    """One run's settings and the edges every project shares: the store and the usage ledger.

    ``warn`` receives the warnings edges raise outside any result (a broken ledger); the CLI
    passes its warning line so ``--no-color`` applies, library callers get a line on stderr.
    ``refresh`` (``--refresh``): registries ask upstream now instead of answering from the metadata cache
    while it is fresh, so a version published minutes ago is seen. ``notice`` hears what the run is waiting
    for (another kmenv's lock), at once: the CLI passes its progress line (silenced by ``-q``), library
    callers get a line on stderr.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        warn: Warn | None = None,
        refresh: bool = False,
        notice: Warn | None = None,
    ) -> None:
        self.settings = settings or Settings.load()
        self.warn = warn
        self.refresh = refresh
        self.notice: Warn = notice or _notice_on_stderr

    @cached_property
    def store(self) -> Store:
        from kmenv.store.blobstore import Store

        return Store(self.settings.cache_dir, on_wait=self.notice)

    @cached_property
    def ledger(self) -> UsageLedger:
        from kmenv.ledger.database import UsageLedger

        return UsageLedger.from_settings(self.settings, warn=self.warn)

    @cached_property
    def registry_warn(self) -> Warn:
        """Where registries' warnings go: the run's ``warn``, each message once; stderr once by default."""
        from kmenv.registry.warn import once, warn_once_to_stderr

        return warn_once_to_stderr if self.warn is None else once(self.warn)

    def kaggle(self, *, refresh: bool | None = None) -> KaggleRegistry:
        """The Kaggle registry of the discovery commands, which need no project (``KMENV_KAGGLE_URL`` applies).

        ``refresh`` defaults to the run's.
        """
        from kmenv.registry.kaggle import open_kaggle

        fresh = self.refresh if refresh is None else refresh
        return open_kaggle(
            "kaggle", None, settings=self.settings, store=self.store, refresh=fresh, warn=self.registry_warn
        )

    def registry(self, name: str, kind: str, url: str | None, *, base_dir: Path, refresh: bool = False) -> Registry:
        """One registry for the discovery commands, by declaration; ``refresh`` bypasses Kaggle's metadata cache."""
        if kind == "kaggle":
            from kmenv.registry.kaggle import open_kaggle

            return open_kaggle(
                name, url, settings=self.settings, store=self.store, refresh=refresh, warn=self.registry_warn
            )
        from kmenv.registry.open import open_registry

        return open_registry(
            name, kind, url, base_dir=base_dir, settings=self.settings, store=self.store, warn=self.registry_warn
        )

    def project(self, root: str | Path) -> Project:
        """The project at ``root`` sharing this run's edges."""
        return Project(root, runtime=self)


class Project(ProjectPaths):
    """One project folder (the one holding ``kmodels.yaml``) and the edges its actions use.

    ``kmenv.Project(path)`` is the public entry: pass it to :func:`kmenv.install` or
    :func:`kmenv.lock`, or read its lock with :meth:`read_lock`.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        settings: Settings | None = None,
        runtime: Runtime | None = None,
        warn: Warn | None = None,
        read_ahead: Mapping[Path, bytes | None] | None = None,
        refresh: bool = False,
        notice: Warn | None = None,
    ) -> None:
        self.root = Path(root).expanduser().absolute()
        self.runtime = runtime or Runtime(settings, warn=warn, refresh=refresh, notice=notice)
        self._registries: dict[tuple[str, str, str | None], Registry] = {}
        self._read_ahead = dict(read_ahead or {})

    @classmethod
    def find(
        cls,
        start: str | Path | None = None,
        *,
        explicit: bool = False,
        settings: Settings | None = None,
        warn: Warn | None = None,
        read_ahead: Mapping[Path, bytes | None] | None = None,
        refresh: bool = False,
        notice: Warn | None = None,
    ) -> Project:
        """The project whose kmodels.yaml is nearest upward from ``start`` (or exactly at it when ``explicit``).

        ``read_ahead`` holds project files this run has read already (path → bytes, None: absent):
        the first :meth:`open` starts from them instead of reading them again. ``refresh`` and ``notice``: see
        :class:`Runtime`.
        """
        root = find_project_dir(start, explicit=explicit)
        return cls(root, settings=settings, warn=warn, read_ahead=read_ahead, refresh=refresh, notice=notice)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    # the edges --------------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        return self.runtime.store

    @property
    def ledger(self) -> UsageLedger:
        return self.runtime.ledger

    @cached_property
    def environment(self) -> EnvironmentDir:
        return environment_at(self.env_path, on_wait=self.runtime.notice)

    def registries(self, inputs: DeclaredInputs) -> dict[str, Registry]:
        """The registries ``inputs`` declare, by name; each declaration is opened once for the project's life."""
        from kmenv.registry.open import open_registry

        found = _Declared()
        for name, declared in inputs.registries.items():
            key = (name, declared.type, declared.url)
            registry = self._registries.get(key)
            if registry is None:
                registry = self._registries[key] = open_registry(
                    name,
                    declared.type,
                    inputs.locations.get(name, declared.url),  # as written: a login in it goes to its host only
                    base_dir=self.root,
                    settings=self.settings,
                    store=self.store,
                    warn=self.runtime.registry_warn,
                    refresh=self.runtime.refresh,
                )
            found[name] = registry
        return found

    def take_transfers(self) -> list[Transfer]:
        """What the registries opened so far downloaded on their own (learning digests) since last asked."""
        return [t for registry in self._registries.values() for t in registry.take_transfers()]

    # the files --------------------------------------------------------------------------------
    def open(self) -> ProjectState:
        """The project's files as they are now; each is read once, when first needed."""
        known, self._read_ahead = self._read_ahead, {}
        return ProjectState(
            self.root, spec_bytes=known.get(self.spec_path, UNREAD), lock_bytes=known.get(self.lock_path, UNREAD)
        )

    def read_lock(self) -> LockFile | None:
        """The parsed lock as it is on disk now, or None when there is none yet."""
        return self.open().lock
