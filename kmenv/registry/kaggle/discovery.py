"""The discovery methods of the Kaggle registry: ``ListModels``, ``GetModel``/``ListModelInstances``, versions.

Kaggle's answers are mapped to the registry-neutral values of :mod:`kmenv.values.discovery`. What
Kaggle does not publish is said, not invented: no structured metrics (an instance's free-text
``metrics`` is passed on as text), no per-version licence (the current one stands in, flagged) and no
file digests (a version's files carry only the digests this machine learned earlier). Version file
listings are fetched concurrently. A text search also matches model descriptions in the answers this
identity was already given (``ListModels`` pages, ``GetModel`` cards in the metadata cache): those
models follow Kaggle's own results, in a last page, at the cost of reading the cached files.
Mixed into :class:`~kmenv.registry.kaggle.registry.KaggleRegistry`, whose metadata methods it uses
through :class:`_KaggleMetadata`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from kmenv.errors import ModelNotFoundError
from kmenv.registry.kaggle.mapping import (
    InstanceInfo,
    ModelInfo,
    RemoteFile,
    parse_model,
    requirements_for,
    version_licence,
    web_url,
)
from kmenv.values.candidates import FileEntry
from kmenv.values.discovery import (
    InstanceSummary,
    ListedFile,
    ModelPage,
    ModelQuery,
    ModelSummary,
    VersionSummary,
)
from kmenv.values.handles import Handle

if TYPE_CHECKING:
    from kmenv.registry.kaggle.client import KaggleClient

__all__ = ["METRICS_NOTE", "SORTS", "KaggleDiscovery"]

#: ``--sort`` choices → Kaggle's ``ListModelsOrderBy`` enum.
SORTS = {
    "hotness": "LIST_MODELS_ORDER_BY_HOTNESS",
    "downloads": "LIST_MODELS_ORDER_BY_DOWNLOAD_COUNT",
    "votes": "LIST_MODELS_ORDER_BY_VOTE_COUNT",
    "notebooks": "LIST_MODELS_ORDER_BY_NOTEBOOK_COUNT",
    "created": "LIST_MODELS_ORDER_BY_CREATE_TIME",
    "published": "LIST_MODELS_ORDER_BY_PUBLISH_TIME",
    "updated": "LIST_MODELS_ORDER_BY_UPDATE_TIME",
}
#: What the user reads where metrics would be: the Kaggle Models API has no benchmark fields.
METRICS_NOTE = "metrics are not published by Kaggle (its Models API has no benchmark fields)"


class _KaggleMetadata(Protocol):
    """The metadata methods of the Kaggle registry the discovery methods are built on."""

    name: str
    client: KaggleClient
    workers: int
    frameworks: Mapping[str, Mapping[str, str]]

    def search(self, body: Mapping[str, object]) -> Iterator[tuple[list[ModelInfo], int | None]]: ...

    def model_info(self, owner: str, model: str) -> ModelInfo: ...

    def model_instances(self, owner: str, model: str) -> list[InstanceInfo]: ...

    def instance_info(self, handle: Handle) -> InstanceInfo: ...

    def version_numbers(self, handle: Handle) -> tuple[list[int], str | None]: ...

    def licences_seen(self, handle: Handle) -> dict[str, str]: ...

    def list_files(self, handle: Handle) -> list[RemoteFile]: ...

    def learned_files(self, handle: Handle) -> dict[str, FileEntry]: ...


def _instance(info: InstanceInfo, table: Mapping[str, Mapping[str, str]]) -> InstanceSummary:
    return InstanceSummary(
        handle=info.handle,
        latest=info.latest,
        license=info.license,
        fine_tunable=info.fine_tunable,
        base=str(info.base) if info.base else (info.external_base_url or None),
        size=info.size,
        downloads=info.downloads,
        overview=info.overview,
        usage=info.usage,
        training_data=info.training_data,
        requires=requirements_for(info.handle.framework or "", table),
        metrics_text=info.metrics,
        url=web_url(info.handle),
        version_notes=info.version_notes,
        gated=info.gated,
        consent=info.consent,
    )


def _model(
    registry: str, model: ModelInfo, instances: Sequence[InstanceInfo], table: Mapping[str, Mapping[str, str]]
) -> ModelSummary:
    return ModelSummary(
        registry=registry,
        owner=model.owner,
        slug=model.slug,
        title=model.title,
        subtitle=model.subtitle,
        description=model.description,
        tags=model.tags,
        votes=model.votes,
        published=model.published,
        updated=model.updated,
        url=web_url(Handle(model.owner, model.slug)),
        instances=tuple(_instance(i, table) for i in instances),
        metrics_note=METRICS_NOTE,
    )


def _described(registry: _KaggleMetadata, text: str, owner: str) -> list[ModelInfo]:
    """Models whose description holds ``text``, from the answers the caller's identity was given before."""
    wanted = text.strip().lower()
    if not wanted:
        return []
    cache, scope = registry.client.cache, registry.client.identity
    found: dict[str, ModelInfo] = {}
    items: list[object] = [m for page in cache.answers("ListModels", scope=scope) for m in page.get("models") or []]
    items += cache.answers("GetModel", scope=scope)
    for item in items:
        if not isinstance(item, dict):
            continue
        model = parse_model(item)
        if model.ref in found or (owner and model.owner.lower() != owner.lower()):
            continue
        if model.owner and model.slug and wanted in model.description.lower():
            found[model.ref] = model
    return sorted(found.values(), key=lambda m: m.ref)


class KaggleDiscovery:
    """Implements the discovery methods of :class:`kmenv.registry.base.Registry` over the Kaggle Models API."""

    def metrics_note(self) -> str:
        """Kaggle's Models API has no structured metrics: the user is told so where they look."""
        return METRICS_NOTE

    def search_models(self: _KaggleMetadata, query: ModelQuery) -> Iterator[ModelPage]:
        """``ListModels`` page by page; Kaggle matches the text and owner and orders by ``query.sort``."""
        body = {
            "search": query.text,
            "owner": query.owner,
            "sortBy": SORTS.get(query.sort, SORTS["hotness"]),
            "pageSize": query.page_size,
        }
        seen: set[str] = set()
        total: int | None = None
        for models, page_total in self.search(body):
            seen.update(m.ref for m in models)
            total = page_total if total is None else total
            yield ModelPage(tuple(_model(self.name, m, m.instances, self.frameworks) for m in models), page_total)
        extra = [m for m in _described(self, query.text, query.owner) if m.ref not in seen]
        if extra:
            counted = None if total is None else total + len(extra)
            yield ModelPage(tuple(_model(self.name, m, m.instances, self.frameworks) for m in extra), counted)

    def describe_model(self: _KaggleMetadata, owner: str, model: str) -> ModelSummary:
        """``GetModel`` for the card, ``ListModelInstances`` for the richer per-instance view."""
        info = self.model_info(owner, model)
        instances = self.model_instances(owner, model) or list(info.instances)
        return _model(self.name, info, instances, self.frameworks)

    def describe_versions(self: _KaggleMetadata, instance: Handle) -> Sequence[VersionSummary]:
        """Every version, newest first, with file counts and sizes (listed concurrently) and the licence seen."""
        handle = instance.unversioned()
        info = self.instance_info(handle)
        numbers, _ = self.version_numbers(handle)
        seen = self.licences_seen(handle)
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(numbers)))) as pool:
            listings = list(pool.map(lambda n: self.list_files(handle.with_version(n)), numbers))
        requires = requirements_for(handle.framework or "", self.frameworks)
        rows = []
        for number, files in zip(numbers, listings, strict=True):
            licence, observed = version_licence(number, info, seen)
            latest = number == info.latest
            rows.append(
                VersionSummary(
                    version=number,
                    latest=latest,
                    files=len(files),
                    size=sum(f.size for f in files),
                    license=licence,
                    license_observed=observed,
                    requires=requires,
                    training_data=info.training_data,  # published per instance: it stands in, like the licence
                )
            )
        return rows

    def describe_version(self: _KaggleMetadata, version: Handle) -> VersionSummary:
        """One version (the current one when none is named), its number checked, its files listed (one request)."""
        handle = version.unversioned()
        info = self.instance_info(handle)
        number = version.version if version.version is not None else info.latest
        numbers, _ = self.version_numbers(handle)
        if number not in numbers:
            raise ModelNotFoundError(
                f"{handle} has no version {number}", hint=f"its versions are {', '.join(map(str, numbers))}"
            )
        files = self.list_files(handle.with_version(number))
        licence, observed = version_licence(number, info, self.licences_seen(handle))
        return VersionSummary(
            version=number,
            latest=number == info.latest,
            files=len(files),
            size=sum(f.size for f in files),
            license=licence,
            license_observed=observed,
            requires=requirements_for(handle.framework or "", self.frameworks),
            training_data=info.training_data,
        )

    def version_files(self: _KaggleMetadata, version: Handle) -> Sequence[ListedFile]:
        """The version's listing, each file with the digests this machine learned (where sizes still agree)."""
        learned = self.learned_files(version)
        found = []
        for remote in self.list_files(version):
            entry = learned.get(remote.path)
            digests: dict[str, str] = {}
            if entry is not None and entry.size == remote.size:
                digests = {"sha256": entry.sha256, **{k.lower(): v for k, v in entry.digests.items()}}
            found.append(ListedFile(remote.path, remote.size, digests))
        return found
