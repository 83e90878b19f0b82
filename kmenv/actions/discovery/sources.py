"""Which registries the discovery commands ask: the project's, the one ``--registry`` names, or Kaggle.

Inside a project (``-C DIR`` or a ``kmodels.yaml`` upward) discovery asks the registries it declares,
in file order (a project that declares none uses Kaggle, as ``install`` does). Outside one, Kaggle.
``--registry NAME`` picks one declared registry, ``kaggle``, or a static registry's folder or URL.
Reading ``kmodels.yaml`` costs one file read and its parse; no registry is contacted here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kmenv.environment.layout import find_project_dir
from kmenv.errors import ModelNotFoundError, ProjectNotFoundError, UsageError

if TYPE_CHECKING:
    from kmenv.actions.project import Runtime
    from kmenv.registry.base import Registry

__all__ = ["first_that_has", "open_sources"]

_T = TypeVar("_T")


def _looks_like_location(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(".") or "://" in text


def open_sources(
    runtime: Runtime,
    start: str | Path | None = None,
    *,
    explicit: bool = False,
    choice: str | None = None,
    refresh: bool = False,
) -> list[Registry]:
    """The registries to ask, in order (see the module docstring); opening them does no I/O yet."""
    try:
        root: Path | None = find_project_dir(start, explicit=explicit)
    except ProjectNotFoundError:
        if explicit:
            raise
        root = None
    declared: dict[str, tuple[str, str | None]] = {}
    if root is not None:
        state = runtime.project(root).open()
        declared = {r.name: (r.type, r.url) for r in state.spec.declared_registries()}
    base = root if root is not None else Path.cwd()
    if choice is None:
        if not declared:
            return [runtime.registry("kaggle", "kaggle", None, base_dir=base, refresh=refresh)]
        return [runtime.registry(n, k, u, base_dir=base, refresh=refresh) for n, (k, u) in declared.items()]
    if choice in declared:
        kind, url = declared[choice]
        return [runtime.registry(choice, kind, url, base_dir=base, refresh=refresh)]
    if choice == "kaggle":
        return [runtime.registry("kaggle", "kaggle", None, base_dir=base, refresh=refresh)]
    if _looks_like_location(choice):
        return [runtime.registry(choice, "static", choice, base_dir=Path.cwd(), refresh=refresh)]
    known = ", ".join([*declared, "kaggle"]) if declared else "kaggle"
    where = f"{root} declares" if root is not None else "outside a project there is"
    raise UsageError(
        f"unknown registry {choice!r}: {where} {known}",
        hint="pass a declared registry's name, `kaggle`, or a static registry's folder or URL",
    )


def first_that_has(registries: Sequence[Registry], ask: Callable[[Registry], _T]) -> tuple[Registry, _T]:
    """The first registry (in order) whose answer is not ModelNotFoundError, and its answer.

    When none has the model, the first registry's error is raised (it names the model and suggests).
    """
    first: ModelNotFoundError | None = None
    for registry in registries:
        try:
            return registry, ask(registry)
        except ModelNotFoundError as exc:
            first = first or exc
    assert first is not None, "at least one registry is always asked"
    if len(registries) > 1:
        names = ", ".join(r.name for r in registries)
        raise ModelNotFoundError(f"{first.message} (asked {names})", hint=first.hint)
    raise first
