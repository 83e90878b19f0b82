"""A kmenv project on disk: its kmodels.yaml, kmodels.lock, environment and registries.

This is the edge where the pure core meets files: it reads the declaration once, turns it into
resolver inputs, opens registries, and reads and writes the lock atomically.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.config import Settings
from kmenv.environment.layout import ENV_DIRNAME, LOCK_FILENAME, SPEC_FILENAME, find_project_dir
from kmenv.errors import LockfileError, UsageError
from kmenv.fs.atomic import write_atomic

if TYPE_CHECKING:
    from kmenv.lockfile.document import DeclaredInputs, LockFile
    from kmenv.registry.base import Registry
    from kmenv.spec.document import ProjectSpec

__all__ = ["Project", "require_lock"]


class Project:
    """One project folder (the one holding ``kmodels.yaml``)."""

    def __init__(self, root: str | Path, *, settings: Settings | None = None) -> None:
        self.root = Path(root).expanduser().absolute()
        self.settings = settings or Settings.load()

    @classmethod
    def find(
        cls, start: str | Path | None = None, *, explicit: bool = False, settings: Settings | None = None
    ) -> Project:
        """The project whose kmodels.yaml is nearest upward from ``start`` (or exactly at it when ``explicit``)."""
        return cls(find_project_dir(start, explicit=explicit), settings=settings)

    @property
    def spec_path(self) -> Path:
        return self.root / SPEC_FILENAME

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILENAME

    @property
    def env_path(self) -> Path:
        return self.root / ENV_DIRNAME

    @cached_property
    def spec(self) -> ProjectSpec:
        from kmenv.environment.project_files import read_spec

        return read_spec(self.spec_path)

    def with_spec_text(self, text: str) -> Project:
        """A view of this project that reads ``text`` as its kmodels.yaml; nothing is written.

        Lets a command resolve a proposed edit (``upgrade --latest``) before committing to it.
        """
        from kmenv.spec.document import parse_spec

        view = Project(self.root, settings=self.settings)
        view.__dict__["spec"] = parse_spec(text, str(self.spec_path))  # fills the cached property
        return view

    def reload(self) -> None:
        """Forget what was read, after the files changed."""
        for attr in ("spec", "registries", "inputs"):
            self.__dict__.pop(attr, None)

    @cached_property
    def inputs(self) -> DeclaredInputs:
        """The declaration reduced to what resolution depends on."""
        from kmenv.environment.interpreter import detect_interpreter
        from kmenv.lockfile.inputs import declared_inputs

        detect = self.spec.environment is not None and self.spec.environment.detect
        return declared_inputs(self.spec, detected=detect_interpreter() if detect else None)

    @cached_property
    def registries(self) -> dict[str, Registry]:
        from kmenv.registry.open import open_registry

        return {
            r.name: open_registry(r.name, r.type, r.url, base_dir=self.root, settings=self.settings)
            for r in self.spec.declared_registries()
        }

    def read_lock(self) -> LockFile | None:
        """The parsed lock, or None when there is none yet."""
        from kmenv.lockfile.document import parse_lock

        try:
            text = self.lock_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise LockfileError(f"{self.lock_path}: not UTF-8 text", hint="regenerate it with `kmenv lock`") from None
        return parse_lock(text, str(self.lock_path))

    def write_lock(self, text: str) -> None:
        write_atomic(self.lock_path, text)

    def write_spec(self, text: str) -> None:
        write_atomic(self.spec_path, text)

    def model_path(self, name: str) -> Path:
        """Absolute path of an installed model's folder; raises when it is not installed."""
        from kmenv.errors import NotInstalledError

        folder = self.env_path / "models" / name
        if not folder.is_dir():
            raise NotInstalledError(
                f"model {name!r} is not installed in {self.env_path}",
                hint="run `kmenv install` (and check the name with `kmenv list`)",
            )
        return folder.resolve()


def require_lock(project: Project) -> LockFile:
    """The lock, or a usage error telling the user to create it."""
    lock = project.read_lock()
    if lock is None:
        raise UsageError(f"no {LOCK_FILENAME} in {project.root}", hint="run `kmenv lock` or `kmenv install`")
    return lock
