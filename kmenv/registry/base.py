"""The Registry protocol: the only way the resolver and installer learn about models.

Implementations live beside this module (static registry, Kaggle, in-memory for tests). They do
the I/O; everything they return is a plain value from :mod:`kmenv.values.candidates`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    registry has no such model.
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
