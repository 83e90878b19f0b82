"""The entries of ``policy.licenses`` that name models: ``exceptions`` and ``clarify``.

Both cover a model (by the project's name or its instance handle) and optionally a range of its
versions; :class:`~kmenv.policy.base.LicencePolicy` exposes the exceptions so ``check`` can
report the ones no locked model used. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet

from kmenv.values.handles import Handle

__all__ = ["Clarification", "PolicyException"]


def _covers(model: str, versions: str, name: str, handle: Handle) -> bool:
    """Whether an entry naming ``model`` (project name or instance handle) and ``versions`` covers this version."""
    if model not in (name, str(handle.unversioned()), str(handle)):
        return False
    if versions and handle.version is not None:
        return SpecifierSet(versions).contains(str(handle.version))
    return True


@dataclass(frozen=True)
class PolicyException:
    """Lets ``model`` (a project name or an instance handle) use the ``allow`` ids anyway, for ``reason``."""

    model: str
    allow: tuple[str, ...]
    reason: str
    versions: str = ""

    def covers(self, name: str, handle: Handle) -> bool:
        return _covers(self.model, self.versions, name, handle)


@dataclass(frozen=True)
class Clarification:
    """States the licence of ``model`` (``versions`` of it) when the published one is wrong or missing."""

    model: str
    expression: str
    versions: str = ""

    def covers(self, name: str, handle: Handle) -> bool:
        return _covers(self.model, self.versions, name, handle)
