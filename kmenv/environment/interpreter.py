"""Read the running interpreter's Python and package versions (for ``environment.detect: true``)."""

from __future__ import annotations

import platform
from collections.abc import Mapping

__all__ = ["detect_interpreter", "installed_packages", "python_version"]


def python_version() -> str:
    """``major.minor.micro`` of the running interpreter."""
    return platform.python_version()


def installed_packages() -> Mapping[str, str]:
    """Canonical distribution name → version for every distribution importlib.metadata can see."""
    from importlib.metadata import distributions

    from packaging.utils import canonicalize_name

    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name and dist.version:
            found.setdefault(canonicalize_name(name), dist.version)
    return dict(sorted(found.items()))


def detect_interpreter() -> tuple[str, Mapping[str, str]]:
    """The running interpreter's Python version and installed packages, as ``environment.detect: true`` reads them."""
    return python_version(), installed_packages()
