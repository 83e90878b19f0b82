"""The discovery methods of a static registry: search, model cards, version tables, from its documents alone.

A static registry has ``index.json`` and one document per instance and nothing else, so everything
here is read from them (no file body is fetched). Searching must read the document of every instance
whose handle does not already rule it out (titles, descriptions and licences live there): one read
each, kept for the registry's life like every document. Mixed into
:class:`~kmenv.registry.static.registry.StaticRegistry`, whose reading methods it uses through
:class:`_Documents`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from kmenv.errors import ModelNotFoundError
from kmenv.registry.static.documents import InstanceDocument, VersionRecord
from kmenv.values.candidates import Candidate
from kmenv.values.discovery import (
    InstanceSummary,
    ListedFile,
    Metric,
    ModelPage,
    ModelQuery,
    ModelSummary,
    VersionSummary,
)
from kmenv.values.handles import Handle

__all__ = ["StaticDiscovery"]


class _Documents(Protocol):
    """What the discovery methods read through: the registry's listing, documents and candidates."""

    name: str

    def list_all(self) -> Sequence[Handle]: ...

    def instances(self, owner: str, model: str) -> Sequence[Handle]: ...

    def versions(self, instance: Handle) -> Sequence[Candidate]: ...

    def document(self, instance: Handle) -> InstanceDocument: ...


def _metrics(version: VersionRecord) -> tuple[Metric, ...]:
    return tuple(Metric(m.dataset, m.metric, float(m.value), m.source) for m in version.metrics)


def _instance(registry: _Documents, handle: Handle) -> tuple[InstanceSummary, InstanceDocument]:
    document = registry.document(handle)
    newest = max(document.versions, key=lambda v: v.version)
    candidate = registry.versions(handle)[0]
    base = None
    if newest.base is not None:
        base = newest.base.handle + (f" ({newest.base.versions})" if newest.base.versions else "")
    summary = InstanceSummary(
        handle=handle,
        latest=newest.version,
        license=newest.license,
        base=base,
        size=sum(f.size for f in newest.files),
        overview=document.description or "",
        training_data=newest.training_data,
        requires=dict(candidate.requires),
        metrics=_metrics(newest),
    )
    return summary, document


def _model(registry: _Documents, owner: str, model: str, handles: Sequence[Handle]) -> ModelSummary:
    found = [_instance(registry, h) for h in handles]
    titles = [d.title for _, d in found if d.title]
    descriptions = list(dict.fromkeys(d.description for _, d in found if d.description))
    published = [v.published for _, d in found for v in d.versions]
    return ModelSummary(
        registry=registry.name,
        owner=owner,
        slug=model,
        title=titles[0] if titles else model,
        description="\n\n".join(descriptions),
        published=min(published, default=""),
        updated=max(published, default=""),
        instances=tuple(s for s, _ in found),
    )


def _matches(summary: ModelSummary, text: str) -> bool:
    wanted = text.strip().lower()
    haystack = (summary.ref, summary.title, summary.description, *(str(i.handle) for i in summary.instances))
    return not wanted or any(wanted in part.lower() for part in haystack)


class StaticDiscovery:
    """Implements the discovery methods of :class:`kmenv.registry.base.Registry` for a static registry."""

    def search_models(self: _Documents, query: ModelQuery) -> Iterator[ModelPage]:
        """Every model matching the text and owner, in pages; by newest publication for ``published``/``updated``,
        else by handle (a static registry counts no votes or downloads)."""
        by_model: dict[tuple[str, str], list[Handle]] = {}
        for handle in self.list_all():
            if query.owner and handle.owner.lower() != query.owner.lower():
                continue
            by_model.setdefault((handle.owner, handle.model), []).append(handle)
        models = [_model(self, owner, model, handles) for (owner, model), handles in sorted(by_model.items())]
        models = [m for m in models if _matches(m, query.text)]
        if query.sort in ("published", "updated"):
            models.sort(key=lambda m: m.updated, reverse=True)
        size = max(1, query.page_size)
        for start in range(0, len(models), size):
            yield ModelPage(tuple(models[start : start + size]), total=len(models))

    def describe_model(self: _Documents, owner: str, model: str) -> ModelSummary:
        """``owner/model`` with every instance at its newest version (``ModelNotFoundError`` if absent)."""
        return _model(self, owner, model, self.instances(owner, model))

    def describe_versions(self: _Documents, instance: Handle) -> Sequence[VersionSummary]:
        """Every version, newest first, with files, licence, requirements, training data and metrics."""
        key = instance.unversioned()
        document = self.document(key)
        requires: Mapping[int, Mapping[str, str]] = {c.version: c.requires for c in self.versions(key)}
        newest_first = sorted(document.versions, key=lambda v: v.version, reverse=True)
        return [
            VersionSummary(
                version=v.version,
                latest=n == 0,
                files=len(v.files),
                size=sum(f.size for f in v.files),
                license=v.license,
                published=v.published,
                requires=dict(requires.get(v.version, {})),
                training_data=v.training_data,
                metrics=_metrics(v),
            )
            for n, v in enumerate(newest_first)
        ]

    def version_files(self: _Documents, version: Handle) -> Sequence[ListedFile]:
        """The files of one version with their sha256, sorted by path (from the document, no file is read)."""
        document = self.document(version.unversioned())
        for record in document.versions:
            if record.version == version.version:
                return [
                    ListedFile(f.path, f.size, {"sha256": f.sha256}) for f in sorted(record.files, key=lambda f: f.path)
                ]
        shown = ", ".join(str(v.version) for v in sorted(document.versions, key=lambda v: -v.version))
        raise ModelNotFoundError(
            f"registry {self.name!r} has no version {version.version} of {version.unversioned()}",
            hint=f"its versions are {shown}",
        )
