"""Discovery without a project: search Kaggle, read a model card, list and diff versions.

Everything goes through :class:`~kmenv.registry.kaggle.KaggleRegistry`, so answers are cached
(``--offline`` works after one online run, ``--refresh`` bypasses the cache). Results are plain
values with ``as_dict`` for ``--json``; the CLI only renders them. Fetching files into a folder is
:mod:`kmenv.actions.download`, which reads handles and names folders as this module does.
Search, card, version list and version diff are one responsibility: what a user reads about a
model before depending on it, from metadata alone; no function here fetches a file's bytes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kmenv.errors import UsageError
from kmenv.policy.names import normalise_licence
from kmenv.values.handles import FRAMEWORKS, Handle, normalise_framework

if TYPE_CHECKING:
    from kmenv.registry.kaggle import KaggleRegistry
    from kmenv.registry.kaggle.mapping import InstanceInfo, ModelInfo, RemoteFile

__all__ = [
    "COMPARISONS",
    "SORTS",
    "FileComparison",
    "ModelCard",
    "SearchResult",
    "VersionDiff",
    "VersionRow",
    "compare_file",
    "default_download_dir",
    "diff_versions",
    "fill_usage",
    "full_handle",
    "list_versions",
    "search_models",
    "show_model",
]

#: ``--sort`` choices → Kaggle's ``ListModelsOrderBy`` enum.
SORTS = {
    "hotness": "LIST_MODELS_ORDER_BY_HOTNESS",
    "downloads": "LIST_MODELS_ORDER_BY_DOWNLOAD_COUNT",
    "votes": "LIST_MODELS_ORDER_BY_VOTE_COUNT",
    "published": "LIST_MODELS_ORDER_BY_PUBLISH_TIME",
    "updated": "LIST_MODELS_ORDER_BY_UPDATE_TIME",
}
_PAGE = 50


def full_handle(text: str) -> Handle:
    """``text`` as a handle naming one instance (owner/model/framework/variation, version optional)."""
    handle = Handle.parse(text)
    if handle.is_partial:
        raise UsageError(
            f"{text!r} is not a full handle",
            hint="write owner/model/framework/variation[/version]; `kmenv show OWNER/MODEL` lists the instances",
        )
    return handle


# -- search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """The models found (in Kaggle's order), Kaggle's total before kmenv's own filters, and whether more remain."""

    models: tuple[ModelInfo, ...]
    total: int | None
    more: bool

    def as_dict(self) -> dict[str, Any]:
        return {"models": [_model_row(m) for m in self.models], "total": self.total, "more": self.more}


def _model_row(model: ModelInfo) -> dict[str, Any]:
    return {
        "handle": model.ref,
        "title": model.title,
        "frameworks": sorted({i.handle.framework or "" for i in model.instances}, key=_fw_rank),
        "licenses": sorted({i.license for i in model.instances if i.license}),
        "votes": model.votes,
        "updated": model.updated,
        "tags": list(model.tags),
    }


def _fw_rank(framework: str) -> int:
    return FRAMEWORKS.index(framework) if framework in FRAMEWORKS else len(FRAMEWORKS)


def search_models(
    registry: KaggleRegistry,
    query: str | None = None,
    *,
    owner: str | None = None,
    framework: str | None = None,
    licence: str | None = None,
    tag: str | None = None,
    sort: str = "hotness",
    limit: int | None = 20,
) -> SearchResult:
    """``ListModels`` with every page followed until ``limit`` models pass the filters (``None``: all).

    Kaggle filters by text and owner; framework, licence and tag are filtered here, on the
    instances and tags each model carries.
    """
    if sort not in SORTS:
        raise UsageError(f"unknown sort {sort!r}", hint=f"use one of {', '.join(SORTS)}")
    wanted_fw = None
    if framework:
        wanted_fw = normalise_framework(framework)
        if wanted_fw is None:
            raise UsageError(f"unknown framework {framework!r}", hint=f"frameworks are: {', '.join(FRAMEWORKS)}")
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, not {limit}", hint="or use --all")
    filtering = bool(wanted_fw or licence or tag)
    size = _PAGE if filtering or limit is None else min(limit, _PAGE)
    body: dict[str, object] = {"search": query or "", "owner": owner or "", "sortBy": SORTS[sort], "pageSize": size}
    found: list[ModelInfo] = []
    total: int | None = None
    more = False
    for models, page_total in registry.search(body):
        total = page_total if total is None else total
        for model in models:
            if _keeps(model, wanted_fw, licence, tag):
                if limit is not None and len(found) >= limit:
                    more = True
                    break
                found.append(model)
        if limit is not None and (more or len(found) >= limit):
            more = more or total is None or total > len(found)
            break
    return SearchResult(tuple(found), total, more)


def _keeps(model: ModelInfo, framework: str | None, licence: str | None, tag: str | None) -> bool:
    if framework and not any(i.handle.framework == framework for i in model.instances):
        return False
    if licence:
        wanted = licence.strip().lower()
        spdx = normalise_licence(licence)
        if not any(
            i.license and (wanted in i.license.lower() or (spdx and normalise_licence(i.license) == spdx))
            for i in model.instances
        ):
            return False
    return not tag or any(t.lower() == tag.strip().lower() for t in model.tags)


# -- show ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCard:
    """What a user needs to read before depending on a model, for one chosen instance and version."""

    model: ModelInfo
    instances: tuple[InstanceInfo, ...]
    chosen: InstanceInfo
    version: int
    usage: str
    web_url: str

    def as_dict(self) -> dict[str, Any]:
        m, c = self.model, self.chosen
        return {
            "handle": m.ref,
            "title": m.title,
            "subtitle": m.subtitle,
            "owner": m.owner,
            "tags": list(m.tags),
            "votes": m.votes,
            "published": m.published,
            "updated": m.updated,
            "url": self.web_url,
            "instances": [_instance_row(i) for i in self.instances],
            "chosen": {"handle": str(c.handle.with_version(self.version)), "version": self.version},
            "training_data": list(c.training_data),
            "usage": self.usage,
            "metrics": c.metrics or None,
            "overview": c.overview,
        }


def _instance_row(info: InstanceInfo) -> dict[str, Any]:
    return {
        "handle": str(info.handle),
        "framework": info.handle.framework,
        "variation": info.handle.variation,
        "license": info.license,
        "fine_tunable": info.fine_tunable,
        "base": str(info.base) if info.base else (info.external_base_url or None),
        "size": info.size,
        "latest_version": info.latest,
        "downloads": info.downloads,
    }


def default_download_dir(handle: Handle) -> str:
    """Where ``kmenv download`` puts a version's files under ``--path`` (the usage template's ``${PATH}``)."""
    return f"{handle.owner}/{handle.model}/{handle.framework}/{handle.variation}/{handle.version}"


def fill_usage(template: str, handle: Handle, url: str) -> str:
    """A usage example with Kaggle's template variables filled in for one versioned handle.

    ``${PATH}``/``${FILEPATH}`` become the folder ``kmenv download`` writes (relative to ``--path``).
    """
    values = {
        "VERSION_NUMBER": str(handle.version),
        "VARIATION_SLUG": handle.variation or "",
        "FRAMEWORK": handle.framework or "",
        "PATH": default_download_dir(handle),
        "FILEPATH": default_download_dir(handle),
        "URL": url,
    }
    for name, value in values.items():
        template = template.replace("${" + name + "}", value)
    return template


def show_model(registry: KaggleRegistry, text: str) -> ModelCard:
    """The model card for ``owner/model`` (first instance) or a full, optionally versioned, handle."""
    from kmenv.errors import ModelNotFoundError
    from kmenv.registry.kaggle.mapping import web_url

    handle = Handle.parse(text)
    model = registry.model_info(handle.owner, handle.model)
    instances = tuple(registry.model_instances(handle.owner, handle.model)) or model.instances
    instances = tuple(sorted(instances, key=lambda i: (_fw_rank(i.handle.framework or ""), str(i.handle))))
    admitted = [i for i in instances if handle.admits(i.handle)]
    if not admitted:
        shown = ", ".join(str(i.handle) for i in instances) or "none"
        raise ModelNotFoundError(
            f"Kaggle model {handle.owner}/{handle.model} has no instance {text}", hint=f"its instances: {shown}"
        )
    chosen = admitted[0]
    version = handle.version or chosen.latest
    versioned = chosen.handle.with_version(version)
    url = web_url(versioned)
    return ModelCard(model, instances, chosen, version, fill_usage(chosen.usage, versioned, url), url)


# -- versions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    """One version: its files' count and size, and its licence (``observed`` False: the current one stands in)."""

    version: int
    latest: bool
    files: int
    size: int
    license: str | None
    observed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "latest": self.latest,
            "files": self.files,
            "size": self.size,
            "license": self.license,
            "license_observed": self.observed,
        }


def list_versions(registry: KaggleRegistry, text: str) -> list[VersionRow]:
    """Every version of a full handle, newest first, with file counts and sizes (listed concurrently)."""
    from kmenv.registry.kaggle.mapping import version_licence

    handle = full_handle(text).unversioned()
    info = registry.instance_info(handle)
    numbers, _ = registry.version_numbers(handle)
    seen = registry.licences_seen(handle)
    with ThreadPoolExecutor(max_workers=max(1, min(registry.workers, len(numbers)))) as pool:
        listings = list(pool.map(lambda n: registry.list_files(handle.with_version(n)), numbers))
    rows = []
    for number, files in zip(numbers, listings, strict=True):
        licence, observed = version_licence(number, info, seen)
        rows.append(
            VersionRow(number, number == info.latest, len(files), sum(f.size for f in files), licence, observed)
        )
    return rows


#: How two files of the same path were compared, strongest first.
COMPARISONS = ("sha256", "md5", "size")


@dataclass(frozen=True)
class FileComparison:
    """One path both versions have: its sizes, whether its content differs, and by what that was judged.

    ``compared`` is ``"sha256"`` or ``"md5"`` when that digest is known for both sides, else ``"size"``
    (then equal sizes only mean the content may be the same).
    """

    path: str
    size_a: int
    size_b: int
    differs: bool
    compared: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size_a": self.size_a, "size_b": self.size_b, "compared": self.compared}


@dataclass(frozen=True)
class VersionDiff:
    """Files added, removed, changed and unchanged from version ``a`` to ``b``, and the licences of both."""

    handle: Handle
    a: VersionRow
    b: VersionRow
    added: tuple[RemoteFile, ...]
    removed: tuple[RemoteFile, ...]
    changed: tuple[FileComparison, ...]
    same: tuple[FileComparison, ...]

    @property
    def unchanged(self) -> int:
        return len(self.same)

    def compared(self) -> dict[str, int]:
        """How many common files were compared by each means (``COMPARISONS``)."""
        both = (*self.changed, *self.same)
        return {how: sum(1 for f in both if f.compared == how) for how in COMPARISONS}

    @property
    def licence_changed(self) -> bool | None:
        """True/False when both licences were observed; None when one is the current licence standing in."""
        if not (self.a.observed and self.b.observed):
            return None if self.a.license == self.b.license else True
        return self.a.license != self.b.license

    def as_dict(self) -> dict[str, Any]:
        return {
            "handle": str(self.handle),
            "a": self.a.as_dict(),
            "b": self.b.as_dict(),
            "added": [{"path": f.path, "size": f.size} for f in self.added],
            "removed": [{"path": f.path, "size": f.size} for f in self.removed],
            "changed": [f.as_dict() for f in self.changed],
            "unchanged": self.unchanged,
            "unchanged_files": [{"path": f.path, "size": f.size_b, "compared": f.compared} for f in self.same],
            "compared": self.compared(),
            "license_changed": self.licence_changed,
        }


def _digests(registry: KaggleRegistry, handle: Handle, files: dict[str, RemoteFile]) -> dict[str, dict[str, str]]:
    """The digests this machine learned for a version's files (by a lock or a download), where sizes still agree.

    Kaggle's listing carries no digest; nothing is downloaded to learn one here.
    """
    learned = registry.learned_files(handle)
    found: dict[str, dict[str, str]] = {}
    for path, entry in learned.items():
        remote = files.get(path)
        if remote is not None and remote.size == entry.size:
            found[path] = {"sha256": entry.sha256, **{k.lower(): v for k, v in entry.digests.items()}}
    return found


def compare_file(path: str, size_a: int, size_b: int, a: dict[str, str], b: dict[str, str]) -> FileComparison:
    """Compare by the strongest digest both sides know (sha256, then md5), else by size. Pure."""
    for how in COMPARISONS[:-1]:
        if a.get(how) and b.get(how):
            differs = size_a != size_b or a[how] != b[how]
            return FileComparison(path, size_a, size_b, differs, how)
    return FileComparison(path, size_a, size_b, size_a != size_b, "size")


def diff_versions(registry: KaggleRegistry, text: str, a: int, b: int) -> VersionDiff:
    """Compare two versions' file lists and licences; files by digest where this machine knows one, else by size."""
    from kmenv.errors import ModelNotFoundError
    from kmenv.registry.kaggle.mapping import version_licence

    handle = full_handle(text).unversioned()
    info = registry.instance_info(handle)
    numbers, _ = registry.version_numbers(handle)
    for n in (a, b):
        if n not in numbers:
            raise ModelNotFoundError(
                f"{handle} has no version {n}", hint=f"its versions are {', '.join(map(str, numbers))}"
            )
    seen = registry.licences_seen(handle)
    files_a = {f.path: f for f in registry.list_files(handle.with_version(a))}
    files_b = {f.path: f for f in registry.list_files(handle.with_version(b))}
    rows = []
    for n, files in ((a, files_a), (b, files_b)):
        licence, observed = version_licence(n, info, seen)
        rows.append(VersionRow(n, n == info.latest, len(files), sum(f.size for f in files.values()), licence, observed))
    digests_a = _digests(registry, handle.with_version(a), files_a)
    digests_b = _digests(registry, handle.with_version(b), files_b)
    common = [
        compare_file(p, files_a[p].size, files_b[p].size, digests_a.get(p, {}), digests_b.get(p, {}))
        for p in sorted(files_a.keys() & files_b.keys())
    ]
    return VersionDiff(
        handle=handle,
        a=rows[0],
        b=rows[1],
        added=tuple(files_b[p] for p in sorted(files_b.keys() - files_a.keys())),
        removed=tuple(files_a[p] for p in sorted(files_a.keys() - files_b.keys())),
        changed=tuple(f for f in common if f.differs),
        same=tuple(f for f in common if not f.differs),
    )
