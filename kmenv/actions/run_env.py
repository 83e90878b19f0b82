"""What ``kmenv run`` and ``kmenv env`` hand to a program: where the project, its environment and each model are.

Variables (all absolute paths): ``KMENV_PROJECT`` (the project folder), ``KMENV_ENVIRONMENT`` (its ``.kmenv``) and
one ``KMENV_MODEL_<NAME>`` per installed model, ``<NAME>`` being the model name upper-cased with every character
other than a letter or digit turned into ``_`` (``gemma-2b`` → ``KMENV_MODEL_GEMMA_2B``). Names that meet in one
variable (``my-model`` and ``my.model``) get none, and say so, rather than one of them silently winning: the
program then asks ``kmenv path NAME``, which is never ambiguous.

A model path points into the generation in use (``.kmenv/generations/N/NAME``), not through the ``models`` link,
so a program keeps reading the files it started with while another install switches the environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.environment.fastpath import up_to_date
from kmenv.values.paths import is_model_name

if TYPE_CHECKING:
    from kmenv.actions.install import InstallOutcome, InstallReporter
    from kmenv.actions.project import Project

__all__ = ["MODEL_PREFIX", "RunEnvironment", "ensure_installed", "run_environment", "variable_name"]

#: What every model's variable starts with.
MODEL_PREFIX = "KMENV_MODEL_"
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def variable_name(model: str) -> str:
    """The variable that holds model ``model``'s path: ``gemma-2b`` → ``KMENV_MODEL_GEMMA_2B``."""
    return MODEL_PREFIX + _NOT_ALNUM.sub("_", model).upper()


@dataclass(frozen=True)
class RunEnvironment:
    """The variables a program run in the project gets, and the models that could not have one."""

    project: Path
    environment: Path
    #: Installed model name → its folder in the generation in use.
    models: Mapping[str, Path] = field(default_factory=dict)
    #: Groups of model names that share one variable name (none of them is set).
    collisions: tuple[tuple[str, ...], ...] = ()

    @property
    def variables(self) -> dict[str, str]:
        """Variable name → value, sorted by name."""
        clashing = {name for group in self.collisions for name in group}
        found = {variable_name(n): str(p) for n, p in self.models.items() if n not in clashing}
        found["KMENV_PROJECT"] = str(self.project)
        found["KMENV_ENVIRONMENT"] = str(self.environment)
        return dict(sorted(found.items()))

    def collision_notes(self) -> list[str]:
        """One line per clash, naming the models and the way to reach each."""
        return [
            f"models {', '.join(group)} would all be {variable_name(group[0])}: none of them is set; "
            f"use `kmenv path NAME` for these"
            for group in self.collisions
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "project": str(self.project),
            "environment": str(self.environment),
            "models": {name: str(path) for name, path in sorted(self.models.items())},
            "variables": self.variables,
            "collisions": [list(group) for group in self.collisions],
        }


def _installed(env_path: Path) -> dict[str, Path]:
    """The models of the generation the ``models`` link points at (none when nothing is installed)."""
    link = env_path / "models"
    try:
        generation = link.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        return {}
    return {
        entry.name: entry
        for entry in sorted(generation.iterdir())
        if entry.is_dir() and not entry.name.startswith(".") and is_model_name(entry.name)
    }


def run_environment(project_root: Path, env_path: Path) -> RunEnvironment:
    """The variables for the project at ``project_root`` whose environment is ``env_path``, as installed now."""
    models = _installed(env_path)
    by_variable: dict[str, list[str]] = {}
    for name in models:
        by_variable.setdefault(variable_name(name), []).append(name)
    collisions = tuple(tuple(sorted(names)) for _, names in sorted(by_variable.items()) if len(names) > 1)
    return RunEnvironment(project_root.resolve(), env_path.resolve(), models, collisions)


def ensure_installed(
    project: Project, *, locked: bool, frozen: bool, reporter: InstallReporter | None = None
) -> InstallOutcome | None:
    """``kmenv install`` when it has something to do: None when the environment matches the project's files
    already (the same no-op check as ``kmenv install``, so nothing heavy runs), else what the install did.

    The groups the environment holds stay (``install --group eval`` then ``run`` keeps ``eval``): running a
    program is no request to change what is installed.
    """
    if up_to_date(project.root) is not None:
        return None
    from kmenv.actions.install import install
    from kmenv.lockfile.groups import GroupRequest

    return install(project, locked=locked, frozen=frozen, reporter=reporter, groups=GroupRequest(current=True))
