"""kmenv: reproducible environments of Kaggle Models.

``import kmenv`` stays cheap: the public names below are loaded on first use.
"""

from __future__ import annotations

from kmenv._version import __version__

__all__ = ["KmenvError", "Project", "__version__", "install", "lock", "path", "use_kagglehub"]

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which every command would pay for
if TYPE_CHECKING:
    from typing import Any

    from kmenv.actions.project import Project
    from kmenv.api import install, lock, path
    from kmenv.errors import KmenvError
    from kmenv.interop import use_kagglehub

_LAZY = {
    "path": "kmenv.api",
    "install": "kmenv.api",
    "lock": "kmenv.api",
    "Project": "kmenv.actions.project",
    "KmenvError": "kmenv.errors",
    "use_kagglehub": "kmenv.interop",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kmenv' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
