"""Kaggle API messages → kmenv values (pure): tolerant parsing, framework enums, the framework → library table.

Parsing follows kagglesdk's tolerance: unknown fields are ignored and enums are accepted as full
names (``MODEL_FRAMEWORK_PY_TORCH``) or short spellings (``pyTorch``, ``PyTorch``). Licences:
Kaggle publishes a licence only for an instance's *current* version, so a version's licence is the
one kmenv saw while that version was current (remembered in the metadata cache), else the current
licence (see :func:`version_licence`).

A candidate's library requirements come from the run's framework → library table
(:mod:`kmenv.registry.frameworks`, the same for every registry), since Kaggle publishes none per version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kmenv.errors import RegistryDocumentError
from kmenv.registry.frameworks import FRAMEWORKS_FILE, load_framework_table
from kmenv.values.candidates import BaseModelRef, Candidate, FileEntry
from kmenv.values.handles import Handle, normalise_framework
from kmenv.values.paths import is_relative_path
from kmenv.values.target import framework_requirements

__all__ = [
    "FRAMEWORKS_FILE",
    "InstanceInfo",
    "ModelInfo",
    "RemoteFile",
    "framework_enum",
    "load_framework_table",
    "make_candidate",
    "parse_files",
    "parse_instance",
    "parse_model",
    "requirements_for",
    "version_licence",
    "web_url",
]

_WEB = "https://www.kaggle.com/models"


def framework_enum(framework: str) -> str:
    """The wire enum name of a handle spelling: ``pyTorch`` → ``MODEL_FRAMEWORK_PY_TORCH``."""
    snake = re.sub(r"(?<=[a-z])(?=[A-Z0-9])", "_", framework)
    return "MODEL_FRAMEWORK_" + snake.upper()


def web_url(handle: Handle) -> str:
    """The model's page on kaggle.com (what a user opens to read or accept its licence)."""
    parts = [handle.owner, handle.model]
    for part in (handle.framework, handle.variation, handle.version):
        if part is None:
            break
        parts.append(str(part))
    return f"{_WEB}/{'/'.join(parts)}"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float):
        return int(value)
    return 0


def _slug(value: object) -> str:
    """An owner given either as a slug string or as an ``Owner`` object."""
    if isinstance(value, dict):
        return _text(value.get("slug")) or _text(value.get("name"))
    return _text(value)


@dataclass(frozen=True)
class InstanceInfo:
    """One instance as Kaggle describes it (the parts kmenv uses)."""

    handle: Handle
    latest: int
    license: str | None
    fine_tunable: bool = False
    overview: str = ""
    usage: str = ""
    training_data: tuple[str, ...] = ()
    base: Handle | None = None
    external_base_url: str = ""
    instance_type: str = ""
    size: int = 0
    url: str = ""
    metrics: str = ""
    version_notes: str = ""
    downloads: float | None = None
    gated: bool | None = None  # the licence must be accepted before downloading (None: not said)
    consent: str = ""  # the caller's agreement: accepted, pending, rejected, expired, unspecified; "" unknown


@dataclass(frozen=True)
class ModelInfo:
    """One model (``owner/model``) as Kaggle describes it."""

    owner: str
    slug: str
    title: str
    subtitle: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    votes: int | None = None
    published: str = ""
    updated: str = ""
    url: str = ""
    private: bool = False
    instances: tuple[InstanceInfo, ...] = field(default_factory=tuple)

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"


@dataclass(frozen=True)
class RemoteFile:
    """A file as ``ListModelInstanceVersionFiles`` lists it: relative path and size (no hash)."""

    path: str
    size: int
    created: str = ""


def parse_instance(data: Mapping[str, Any], owner: str, model: str) -> InstanceInfo | None:
    """An instance from ``ApiModelInstance`` or ``ModelInstance``; ``None`` when it names no known framework."""
    framework = normalise_framework(_text(data.get("framework")))
    slug = _text(data.get("slug"))
    if framework is None or not slug:
        return None
    owner = _text(data.get("ownerSlug")) or owner
    model = _text(data.get("modelSlug")) or model
    licence_obj = data.get("license")
    licence = _text(data.get("licenseName")) or (
        _text(licence_obj.get("name")) if isinstance(licence_obj, dict) else ""
    )
    base = None
    info = data.get("baseModelInstanceInformation")
    if isinstance(info, dict):
        base_fw = normalise_framework(_text(info.get("framework")))
        base_owner, base_model, base_slug = (
            _slug(info.get("owner")),
            _text(info.get("modelSlug")),
            _text(info.get("instanceSlug")),
        )
        if base_fw and base_owner and base_model and base_slug:
            base = Handle(base_owner, base_model, base_fw, base_slug)
    summary = data.get("downloadSummary")
    downloads = summary.get("totalDownloads") if isinstance(summary, dict) else None
    training = data.get("trainingData")
    return InstanceInfo(
        handle=Handle(owner, model, framework, slug),
        latest=_int(data.get("versionNumber")),
        license=licence or None,
        fine_tunable=bool(data.get("fineTunable")),
        overview=_text(data.get("overview")),
        usage=_text(data.get("usage")),
        training_data=tuple(str(t) for t in training) if isinstance(training, list) else (),
        base=base,
        external_base_url=_text(data.get("externalBaseModelUrl")),
        instance_type=_enum_short(_text(data.get("modelInstanceType")), "MODEL_INSTANCE_TYPE_"),
        size=_int(data.get("totalUncompressedBytes")),
        url=_text(data.get("url")),
        metrics=_text(data.get("metrics")),
        version_notes=_text(data.get("versionNotes")),
        downloads=float(downloads) if isinstance(downloads, (int, float)) else None,
        gated=bool(licence_obj.get("agreementRequired")) if isinstance(licence_obj, dict) else None,
        consent=_enum_short(_text(licence_obj.get("agreementStatus")), "USER_LICENSE_AGREEMENT_STATUS_")
        if isinstance(licence_obj, dict)
        else "",
    )


def _enum_short(value: str, prefix: str) -> str:
    """``MODEL_INSTANCE_TYPE_BASE_MODEL`` or ``baseModel`` → ``base_model``."""
    if value.upper().startswith(prefix):
        value = value[len(prefix) :]
    value = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", value)
    return value.lower()


def parse_model(data: Mapping[str, Any]) -> ModelInfo:
    """A model from ``ApiModel`` (``GetModel`` or a ``ListModels`` item)."""
    ref = _text(data.get("ref"))
    owner, _, slug = ref.partition("/")
    owner = owner or _text(data.get("author"))
    slug = _text(data.get("slug")) or slug
    tags = data.get("tags")
    instances = data.get("instances")
    votes = data.get("voteCount")
    return ModelInfo(
        owner=owner,
        slug=slug,
        title=_text(data.get("title")) or slug,
        subtitle=_text(data.get("subtitle")),
        description=_text(data.get("description")),
        tags=tuple(_text(t.get("name")) or _text(t.get("ref")) for t in tags if isinstance(t, dict))
        if isinstance(tags, list)
        else (),
        votes=votes if isinstance(votes, int) and not isinstance(votes, bool) else None,
        published=_text(data.get("publishTime")),
        updated=_text(data.get("updateTime")),
        url=_text(data.get("url")),
        private=bool(data.get("isPrivate")),
        instances=tuple(
            i for i in (parse_instance(d, owner, slug) for d in instances if isinstance(d, dict)) if i is not None
        )
        if isinstance(instances, list)
        else (),
    )


def parse_files(pages: Iterable[Mapping[str, Any]], where: str) -> list[RemoteFile]:
    """Every file of every page, sorted by path; a path that could escape its folder is refused."""
    found: dict[str, RemoteFile] = {}
    for page in pages:
        files = page.get("files")
        for item in files if isinstance(files, list) else ():
            if not isinstance(item, dict):
                continue
            name = _text(item.get("name"))
            if not is_relative_path(name):
                raise RegistryDocumentError(
                    f"{where}: Kaggle lists a file with an unsafe path {name!r}",
                    hint="this version cannot be installed safely; report it to the model's owner",
                )
            found[name] = RemoteFile(name, _int(item.get("size")), _text(item.get("creationDate")))
    return [found[p] for p in sorted(found)]


def parse_versions(pages: Iterable[Mapping[str, Any]]) -> list[int]:
    """Version numbers from ``ListModelInstanceVersions`` pages, newest first."""
    numbers: set[int] = set()
    for page in pages:
        holder = page.get("versionList")
        versions = holder.get("versions") if isinstance(holder, dict) else page.get("versions")
        for item in versions if isinstance(versions, list) else ():
            if isinstance(item, dict) and _int(item.get("versionNumber")) > 0:
                numbers.add(_int(item.get("versionNumber")))
    return sorted(numbers, reverse=True)


def version_licence(version: int, current: InstanceInfo, seen: Mapping[str, str]) -> tuple[str | None, bool]:
    """(licence, observed) for ``version``: the licence seen while it was current, else the current one.

    ``observed`` is False when the current licence stands in for an older version's (Kaggle
    publishes none per version); discovery output says so.
    """
    if version == current.latest:
        return current.license, True
    if str(version) in seen:
        return seen[str(version)] or None, True
    return current.license, False


def requirements_for(framework: str, table: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """A framework's library requirements, canonical names, sorted (Kaggle publishes no per-version ones)."""
    return framework_requirements(framework, None, table)


def make_candidate(
    info: InstanceInfo,
    version: int,
    *,
    registry: str,
    table: Mapping[str, Mapping[str, str]],
    licence: str | None,
    title: str | None = None,
    files: tuple[FileEntry, ...] = (),
) -> Candidate:
    """One version of an instance as a resolver candidate (files empty until chosen)."""
    assert info.handle.framework is not None, "instances are always full handles"
    base = BaseModelRef(info.base, "", registry=registry) if info.base is not None else None
    return Candidate(
        handle=info.handle.with_version(version),
        registry=registry,
        license=licence,
        requires=requirements_for(info.handle.framework, table),
        base=base,
        files=files,
        title=title,
    )
