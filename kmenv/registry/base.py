"""The Registry protocol: the only way the resolver and installer learn about models.

Implementations live beside this module (static registry, Kaggle, in-memory for tests) and
subclass :class:`Registry`, so they inherit the defaults of its optional capabilities
(:meth:`Registry.prefetch`, :meth:`Registry.take_transfers`). They do the I/O; everything they
return is a plain value from :mod:`kmenv.values.candidates`, and where to fetch a file is a
:class:`~kmenv.fetch.source.FileSource`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kmenv.fetch.source import FileSource
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle

__all__ = ["Registry", "Transfer"]


@dataclass(frozen=True)
class Transfer:
    """File bytes a registry downloaded on its own while answering (Kaggle learning sha256s), for the usage ledger.

    ``handle``: the versioned handle whose files they were; ``files``, ``nbytes`` and ``seconds``: how many
    files, how many bytes, in how long (wall time of the batch); ``url``: where they came from (the request,
    never a signed redirect).
    """

    handle: Handle
    files: int
    nbytes: int
    seconds: float
    url: str


@runtime_checkable
class Registry(Protocol):
    """A source of model metadata and files.

    ``name`` is the key the project gives the registry in kmodels.yaml. Methods raise
    :class:`kmenv.errors.RegistryError` subclasses; ``ModelNotFoundError`` when the
    registry has no such model. The four query methods are required; :meth:`prefetch` has a
    default that does nothing.
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

    def take_transfers(self) -> Sequence[Transfer]:
        """The file downloads made while answering since the last call (then forgotten), for the usage ledger.

        Only a registry that downloads files to answer :meth:`files` has any; the default has none.
        """
        return ()
