"""The Registry protocol: the only way the resolver and installer learn about models.

Implementations live beside this module (static registry, Kaggle, in-memory for tests) and
subclass :class:`Registry`, so they inherit the defaults of its optional capabilities
(:meth:`Registry.prefetch`, :meth:`Registry.authorise`). They do the I/O; everything they return is a plain value from
:mod:`kmenv.values.candidates`, and where to fetch a file is a :class:`~kmenv.fetch.source.FileSource`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from kmenv.fetch.source import FileSource
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle

__all__ = ["Registry"]


@runtime_checkable
class Registry(Protocol):
    """A source of model metadata and files.

    ``name`` is the key the project gives the registry in kmodels.yaml. Methods raise
    :class:`kmenv.errors.RegistryError` subclasses; ``ModelNotFoundError`` when the
    registry has no such model. The four query methods are required; :meth:`prefetch` and
    :meth:`authorise` have defaults that do nothing.
    """

    name: str

    def instances(self, owner: str, model: str) -> Sequence[Handle]:
        """Every full, unversioned instance handle of ``owner/model``, sorted."""
        ...

    def versions(self, instance: Handle) -> Sequence[Candidate]:
        """Every version of one full instance, newest first.

        ``Candidate.files`` may be empty here when listing files costs extra requests (Kaggle);
        call :meth:`files` for the versions actually chosen.
        """
        ...

    def files(self, candidate: Candidate) -> Sequence[FileEntry]:
        """The files of one version, sorted by path, each with size and sha256."""
        ...

    def source(self, candidate: Candidate, file: FileEntry) -> FileSource:
        """Where to fetch ``file`` of ``candidate``; cheap, does no I/O for static registries."""
        ...

    def prefetch(self, handles: Iterable[Handle | str]) -> None:
        """Fetch metadata for many declared models at once, before the resolver asks for it one by one.

        A hint, never required: registries whose answers are cheap (a folder, memory) keep this
        default, which does nothing. Errors are left for the resolver to meet when it asks.
        """
        return None

    def authorise(self, candidate: Candidate, *, fetched: bool = False) -> None:
        """Raise unless the caller may be handed the files of ``candidate`` that the shared store holds.

        The store keeps one copy of each blob for every run on the machine; a registry that serves
        some callers only (Kaggle: private and gated models) checks here that the current caller was
        authorised for this version before its blobs are linked or copied out. ``fetched``: the caller
        itself just downloaded some of these files from the registry, which proves it. Registries that
        serve everyone alike keep this default, which allows all.
        """
        return None
