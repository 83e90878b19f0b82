"""The Registry protocol: the only way the resolver and installer learn about models.

Implementations live beside this module (static registry, Kaggle, in-memory for tests) and
subclass :class:`Registry`, so they inherit the defaults of its optional capabilities
(:meth:`Registry.prefetch`, :meth:`Registry.authorise`, :meth:`Registry.take_transfers`,
:meth:`Registry.show_progress` and the discovery
methods). They do the I/O;
everything they return is a plain value from :mod:`kmenv.values.candidates` or :mod:`kmenv.values.discovery`,
and where to fetch a file is a :class:`~kmenv.fetch.source.FileSource`.

Discovery (``kmenv search``, ``show``, ``versions``, ``compare``) is a capability of every registry:
the defaults below answer it from the four query methods alone, so any registry can be shown and its
versions listed; a registry that holds richer metadata (titles, cards, metrics, popularity) or whose
``files`` is expensive (Kaggle learns digests by downloading) overrides them. Searching needs a
listing the four methods cannot give, so its default finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kmenv.errors import ModelNotFoundError
from kmenv.fetch.progress import ProgressSink
from kmenv.fetch.source import FileSource
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.discovery import InstanceSummary, ListedFile, ModelPage, ModelQuery, ModelSummary, VersionSummary
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

    def show_progress(self, sink: ProgressSink | None) -> None:
        """Report the downloads made while answering (:meth:`take_transfers`) to ``sink`` as they go; None stops it.

        ``sink`` must be thread-safe (a lock learns several versions at once). The default makes none to report.
        """
        return None

    def take_transfers(self) -> Sequence[Transfer]:
        """The file downloads made while answering since the last call (then forgotten), for the usage ledger.

        Only a registry that downloads files to answer :meth:`files` has any; the default has none.
        """
        return ()

    # -- discovery: defaults built on the four query methods -------------------------------------

    def metrics_note(self) -> str:
        """Why this registry's versions carry no metrics, when it cannot publish any (shown where metrics would be).

        Empty by default: the registry may carry metrics, and a version without them simply has none.
        """
        return ""

    def search_models(self, query: ModelQuery) -> Iterator[ModelPage]:
        """Pages of the models whose owner, name, title or description contain ``query.text``.

        The default finds nothing: the four query methods cannot list a registry's models.
        """
        return iter(())

    def describe_model(self, owner: str, model: str) -> ModelSummary:
        """``owner/model`` and each of its instances at its newest version (``ModelNotFoundError`` if absent)."""
        found = []
        title = ""
        for handle in self.instances(owner, model):
            newest = self.versions(handle)[0]
            title = title or newest.title or ""
            found.append(
                InstanceSummary(
                    handle=handle.unversioned(),
                    latest=newest.version,
                    license=newest.license,
                    base=str(newest.base.handle) if newest.base is not None else None,
                    size=sum(f.size for f in newest.files),
                    requires=dict(newest.requires),
                )
            )
        return ModelSummary(self.name, owner, model, title or model, instances=tuple(found))

    def describe_versions(self, instance: Handle) -> Sequence[VersionSummary]:
        """Every version of one full instance, newest first, with its files counted (``files`` per version)."""
        candidates = self.versions(instance)
        rows = []
        for n, candidate in enumerate(candidates):
            files = candidate.files or tuple(self.files(candidate))
            rows.append(
                VersionSummary(
                    version=candidate.version,
                    latest=n == 0,
                    files=len(files),
                    size=sum(f.size for f in files),
                    license=candidate.license,
                    published=candidate.published or "",
                    requires=dict(candidate.requires),
                )
            )
        return rows

    def describe_version(self, version: Handle) -> VersionSummary:
        """One version of a full handle, the newest when it names none (``ModelNotFoundError`` if absent).

        The default picks it from :meth:`describe_versions`; a registry where that costs a request per
        version (Kaggle) answers for one version alone.
        """
        rows = list(self.describe_versions(version.unversioned()))
        found = rows[:1] if version.version is None else [r for r in rows if r.version == version.version]
        if not found:
            shown = ", ".join(str(r.version) for r in rows)
            raise ModelNotFoundError(
                f"{version.unversioned()} has no version {version.version}", hint=f"its versions are {shown}"
            )
        return found[0]

    def version_files(self, version: Handle) -> Sequence[ListedFile]:
        """The files of one versioned handle with the digests the registry knows, sorted by path."""
        for candidate in self.versions(version.unversioned()):
            if candidate.version == version.version:
                files = self.files(candidate)
                return [ListedFile(f.path, f.size, {"sha256": f.sha256, **f.digests}) for f in files]
        raise ModelNotFoundError(f"registry {self.name!r} has no version {version}")
