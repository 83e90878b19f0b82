"""Views of an environment for people and scripts: the model list, the dependency tree, why a model is there.

Each describes what is installed (the lock the generation in use records), next to ``kmodels.lock``
for what it would become; with nothing installed, the lock itself. Pure: takes those locks (and the
environment's path), returns plain data the CLI renders or dumps as JSON; only :func:`not_installed`,
on the error path of ``kmenv.path()``, reads the project's files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kmenv.errors import NotInstalledError
from kmenv.lockfile.document import LockedModel, LockFile
from kmenv.values.paths import is_model_name, model_name_problem

__all__ = ["ModelRow", "TreeNode", "list_rows", "not_installed", "tree", "why"]


@dataclass(frozen=True)
class ModelRow:
    name: str
    handle: str
    version: int
    license: str
    size: int
    path: str | None
    direct: bool
    groups: tuple[str, ...] = ("default",)
    #: the version kmodels.lock names (None: the lock does not have this model)
    locked_version: int | None = None
    #: in the generation in use (False: only in kmodels.lock, not installed)
    installed: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "handle": self.handle,
            "version": self.version,
            "license": self.license,
            "size": self.size,
            "path": self.path,
            "direct": self.direct,
            "groups": list(self.groups),
            "installed": self.installed,
            "locked_version": self.locked_version,
            "matches_lock": self.installed and self.locked_version == self.version,
        }


def _licence(model: LockedModel) -> str:
    return model.license.spdx or model.license.published or "unknown"


def list_rows(held: LockFile | None, lock: LockFile | None, models_dir: Path | None) -> list[ModelRow]:
    """One row per model the generation in use ``held`` holds, then per model only ``lock`` has (not installed).

    ``held`` is None when nothing is installed: the rows are the lock's, each with the path where it is
    (None when absent).
    """
    rows = []
    have = held.models if held is not None else {}
    want = lock.models if lock is not None else {}
    for name in sorted(have.keys() | want.keys()):
        model = have.get(name) or want[name]
        where = models_dir / name if models_dir is not None else None
        path = str(where.resolve()) if where is not None and where.is_dir() else None
        locked = want.get(name)
        rows.append(
            ModelRow(
                name=name,
                handle=f"{model.handle}/{model.version}",
                version=model.version,
                license=_licence(model),
                size=model.size,
                path=path if name in have or held is None else None,
                direct=model.direct,
                groups=tuple(model.groups),
                locked_version=locked.version if locked is not None else None,
                installed=name in have if held is not None else path is not None,
            )
        )
    return rows


@dataclass(frozen=True)
class TreeNode:
    """A locked model and what it needs; ``why`` says why it is in the tree at this place."""

    name: str
    handle: str
    license: str
    why: str
    children: tuple[TreeNode, ...] = field(default_factory=tuple)
    #: the version kmodels.lock names (None: the lock does not have this model)
    locked_version: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "handle": self.handle,
            "license": self.license,
            "why": self.why,
            "locked_version": self.locked_version,
            "children": [c.as_dict() for c in self.children],
        }


def _node(held: LockFile, lock: LockFile | None, name: str, why_text: str, seen: frozenset[str]) -> TreeNode:
    model = held.models[name]
    children: tuple[TreeNode, ...] = ()
    if model.base is not None and model.base not in seen and model.base in held.models:
        children = (_node(held, lock, model.base, f"base model of {name}", seen | {name}),)
    locked = lock.models.get(name) if lock is not None else None
    return TreeNode(
        name,
        f"{model.handle}/{model.version}",
        _licence(model),
        why_text,
        children,
        locked.version if locked is not None else None,
    )


def tree(held: LockFile, lock: LockFile | None = None) -> list[TreeNode]:
    """Declared models of ``held`` at the roots, each fine-tune's base model beneath it; ``lock`` for comparison."""
    return [
        _node(held, lock, name, f"declared as models.{name}", frozenset())
        for name, model in sorted(held.models.items())
        if model.direct
    ]


def why(lock: LockFile, name: str, *, where: str = "kmodels.lock", now: LockFile | None = None) -> list[list[str]]:
    """Every chain from a declaration down to ``name`` in ``lock`` (described as ``where``), as readable steps.

    ``now`` is kmodels.lock when ``lock`` is what a generation was built from: a declaration that has
    changed since is told in the past tense, with what it says now.
    """
    model = lock.models.get(name)
    if model is None:
        known = ", ".join(sorted(lock.models)) or "none"
        raise NotInstalledError(f"no model named {name!r} in {where}", hint=f"models there: {known}")
    chains: list[list[str]] = []
    if model.direct:
        declared = lock.inputs.models[name]
        current = now.inputs.models.get(name) if now is not None else declared
        text = f"{declared.handle} {declared.versions}".rstrip()
        if current is None or (current.handle, current.versions) != (declared.handle, declared.versions):
            later = f"{current.handle} {current.versions}".rstrip() if current is not None else "no longer declared"
            chains.append([f"{name} {model.version} was declared in kmodels.yaml as {text} (now: {later})"])
        else:
            chains.append([f"{name} {model.version} is declared in kmodels.yaml as {text}"])
    for parent in model.required_by:
        step = f"{name} {model.version} is the base model of {parent} {lock.models[parent].version}"
        for upper in why(lock, parent, where=where, now=now):
            chains.append([*upper, step])
    return chains


def not_installed(root: Path, name: str) -> NotInstalledError:
    """Why ``kmenv.path(name)`` found nothing in the project at ``root``: undeclared, or declared but not installed.

    Runs only on that error path, so it may read kmodels.yaml and kmodels.lock (``kmenv.path()`` itself reads
    neither); an unreadable file leaves the general message.
    """
    from kmenv.actions.state import ProjectState
    from kmenv.environment.layout import ENV_DIRNAME
    from kmenv.errors import KmenvError

    env = root / ENV_DIRNAME
    state = ProjectState(root)
    if not is_model_name(name):
        return NotInstalledError(f"{name!r} is not a model name", hint=model_name_problem(name))
    try:
        declared = set(state.spec.models)
        lock = state.lock
    except KmenvError:
        return NotInstalledError(
            f"model {name!r} is not installed in {env}",
            hint="run `kmenv install`, and check the name with `kmenv list`",
        )
    locked = lock.models.get(name) if lock is not None else None
    if name not in declared and locked is None:
        known = ", ".join(sorted(declared)) or "none"
        return NotInstalledError(
            f"no model named {name!r} is declared in {state.spec_path.name}",
            hint=f"add it with `kmenv add HANDLE --name {name}`, then `kmenv install` (declared: {known})",
        )
    if name in declared or locked is None:
        what = f"declared in {state.spec_path.name}"
    else:
        what = f"locked as the base model of {', '.join(locked.required_by) or 'another model'}"
    return NotInstalledError(f"model {name!r} is {what} but not installed in {env}", hint="run `kmenv install`")
