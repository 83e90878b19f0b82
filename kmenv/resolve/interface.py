"""The resolver's boundary: requirements in, model indexes asked, a resolution out, and progress hooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from kmenv.policy import Verdict
from kmenv.values.candidates import Candidate
from kmenv.values.handles import Handle

__all__ = [
    "ModelIndex",
    "Requirement",
    "Resolution",
    "ResolveReporter",
    "ResolvedModel",
    "specifier_error",
    "version_allowed",
]


@cache
def _specifier(text: str) -> SpecifierSet:
    return SpecifierSet(text)


@cache
def version_allowed(versions: str, version: int) -> bool:
    """Whether the PEP 440 specifier ``versions`` admits the integer ``version`` (memoised: the search asks often)."""
    return not versions or _specifier(versions).contains(str(version))


def specifier_error(versions: str) -> str | None:
    """Why ``versions`` is not a usable specifier, or ``None`` when it is."""
    try:
        _specifier(versions)
    except InvalidSpecifier:
        return f"{versions!r} is not a PEP 440 version specifier"
    return None


class ModelIndex(Protocol):
    """The two questions the resolver asks a registry: which instances a model has, and which versions an instance has.

    Every :class:`kmenv.registry.base.Registry` answers them; the resolver needs nothing else (files and
    sources are the installer's business), so tests and other callers can resolve against anything that
    does. Methods may raise :class:`kmenv.errors.RegistryError` subclasses, which the resolver lets through.
    """

    def instances(self, owner: str, model: str) -> Sequence[Handle]:
        """Every full, unversioned instance handle of ``owner/model``."""
        ...

    def versions(self, instance: Handle) -> Sequence[Candidate]:
        """Every version of one full instance (``Candidate.files`` may be empty)."""
        ...


@dataclass(frozen=True)
class Requirement:
    """One demand on a model: a possibly partial handle, a version range, a registry.

    ``name`` is the project's name for the model; a base model pulled in only transitively
    gets a derived name (``<model>-<variation>``). ``versions`` is a PEP 440 specifier over
    integer versions, ``""`` admits all. ``parent`` names the model whose base this is, and is
    ``None`` for a requirement declared in kmodels.yaml.
    """

    name: str
    handle: Handle
    versions: str
    registry: str
    parent: str | None = None

    def admits(self, candidate: Candidate) -> bool:
        """Whether ``candidate`` comes from this registry, fits the handle and satisfies the version range."""
        return (
            candidate.registry == self.registry
            and self.handle.admits(candidate.handle)
            and version_allowed(self.versions, candidate.version)
        )

    def __str__(self) -> str:
        return f"{self.name} {self.versions}" if self.versions else self.name


@dataclass(frozen=True)
class ResolvedModel:
    """One model of a resolution.

    ``verdict`` is the licence policy's answer for the chosen version. ``direct`` says the
    project declares the model; ``required_by`` lists (sorted) the models whose base it is.
    ``base`` names this model's own base entry when it is a fine-tune.
    """

    name: str
    candidate: Candidate
    verdict: Verdict
    direct: bool
    required_by: tuple[str, ...] = ()
    base: str | None = None


@dataclass(frozen=True)
class Resolution:
    """The chosen versions, sorted by name, and the warnings the choice carries (licences allowed with a caveat)."""

    models: tuple[ResolvedModel, ...]
    warnings: tuple[str, ...] = ()


class ResolveReporter(Protocol):
    """Progress hooks the resolver calls; every hook is optional.

    Subclass it and override only what you need: the bodies here do nothing (they return ``None``
    explicitly so type checkers do not take them for abstract). Hooks run on the
    resolving thread and must be quick. ``pinned`` may be called again for the same name after
    the search backtracks (``rejected`` says which version was given up).
    """

    def fetching(self, handle: Handle) -> None:
        """About to ask a registry for the instances (``owner/model``) or the versions (full handle) of ``handle``."""
        return None

    def pinned(self, name: str, version: int) -> None:
        """The search tentatively chose ``version`` for ``name``."""
        return None

    def rejected(self, name: str, version: int) -> None:
        """The search found ``version`` of ``name`` cannot work with what is already chosen."""
        return None
