"""Views of a lock for people and scripts: the model list, the dependency tree, why a model is there.

Pure: takes a lock (and the environment's path), returns plain data the CLI renders or dumps as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kmenv.errors import NotInstalledError
from kmenv.lockfile.document import LockedModel, LockFile

__all__ = ["ModelRow", "TreeNode", "list_rows", "tree", "why"]


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
        }


def _licence(model: LockedModel) -> str:
    return model.license.spdx or model.license.published or "unknown"


def list_rows(lock: LockFile, models_dir: Path | None) -> list[ModelRow]:
    """One row per locked model; ``path`` is None when the model is not in the environment."""
    rows = []
    for name, model in sorted(lock.models.items()):
        where = models_dir / name if models_dir is not None else None
        rows.append(
            ModelRow(
                name=name,
                handle=f"{model.handle}/{model.version}",
                version=model.version,
                license=_licence(model),
                size=model.size,
                path=str(where.resolve()) if where is not None and where.is_dir() else None,
                direct=model.direct,
                groups=tuple(model.groups),
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

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "handle": self.handle,
            "license": self.license,
            "why": self.why,
            "children": [c.as_dict() for c in self.children],
        }


def _node(lock: LockFile, name: str, why_text: str, seen: frozenset[str]) -> TreeNode:
    model = lock.models[name]
    children: tuple[TreeNode, ...] = ()
    if model.base is not None and model.base not in seen:
        children = (_node(lock, model.base, f"base model of {name}", seen | {name}),)
    return TreeNode(name, f"{model.handle}/{model.version}", _licence(model), why_text, children)


def tree(lock: LockFile) -> list[TreeNode]:
    """Declared models at the roots, each fine-tune's base model beneath it."""
    return [
        _node(lock, name, f"declared as models.{name}", frozenset())
        for name, model in sorted(lock.models.items())
        if model.direct
    ]


def why(lock: LockFile, name: str) -> list[list[str]]:
    """Every chain from a declaration down to ``name``, as readable steps."""
    model = lock.models.get(name)
    if model is None:
        known = ", ".join(sorted(lock.models)) or "none"
        raise NotInstalledError(f"no model named {name!r} in kmodels.lock", hint=f"locked models: {known}")
    chains: list[list[str]] = []
    if model.direct:
        declared = lock.inputs.models[name]
        spec = f" {declared.versions}" if declared.versions else ""
        chains.append([f"{name} {model.version} is declared in kmodels.yaml as {declared.handle}{spec}"])
    for parent in model.required_by:
        step = f"{name} {model.version} is the base model of {parent} {lock.models[parent].version}"
        for upper in why(lock, parent):
            chains.append([*upper, step])
    return chains
