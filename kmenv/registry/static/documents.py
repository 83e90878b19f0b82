"""The static registry's JSON documents: ``index.json`` and one document per model instance.

The pydantic models below are the format's single definition: the static registry reads with them,
the builder writes with them, and ``schemas/`` is generated from them. :func:`parse_index` and
:func:`parse_instance` take an already-decoded JSON value (loading bytes is the caller's job) and
raise :class:`~kmenv.errors.RegistryDocumentError` naming every problem at once. No I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError, field_validator

from kmenv.errors import HandleError, RegistryDocumentError
from kmenv.values.documents import JsonBounds
from kmenv.values.handles import Handle
from kmenv.values.paths import relative_path_problem
from kmenv.values.wording import counted

__all__ = [
    "DOCUMENT_BOUNDS",
    "FORMAT",
    "BaseRecord",
    "FileRecord",
    "IndexEntry",
    "InstanceDocument",
    "MetricRecord",
    "RegistryIndex",
    "VersionMetadata",
    "VersionRecord",
    "check_published",
    "check_relative_path",
    "check_requires",
    "parse_index",
    "parse_instance",
    "validation_problems",
]

#: The document format this kmenv reads and writes.
FORMAT = 1
#: How every registry document is bounded when read: 64 MiB holds an index of 300,000 instances, or one
#: instance's hundreds of versions of thousands of files.
DOCUMENT_BOUNDS = JsonBounds(64 * 1024 * 1024)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PUBLISHED = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?Z$")
_LIBRARY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_URL_SCHEMES = ("http", "https", "file")
_MAX_SHOWN = 5


def check_relative_path(path: str) -> str:
    """Return ``path`` if it is a safe relative path, else raise ``ValueError`` saying why.

    Registry paths become file names on the user's disk; the rule is
    :func:`kmenv.values.paths.relative_path_problem`, worded here as ``path '<path>' <problem>``.
    """
    problem = relative_path_problem(path)
    if problem is None:
        return path
    if not path:
        raise ValueError("path is empty")
    raise ValueError(f"path {path!r} {problem.removeprefix('it ')}")


def check_published(text: str) -> str:
    """Return ``text`` if it is an ISO-8601 UTC timestamp ending in ``Z``, else raise ``ValueError``."""
    match = _PUBLISHED.match(text)
    if match is None:
        raise ValueError(f"timestamp {text!r} is not ISO-8601 UTC like '2024-05-01T12:00:00Z'")
    try:
        datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not a real date and time") from None
    return text


def check_requires(requires: Mapping[str, str]) -> dict[str, str]:
    """Return ``requires`` if every key is a library name (or ``python``) and every value a PEP 440 specifier."""
    for name, spec in requires.items():
        if not _LIBRARY.match(name):
            raise ValueError(f"{name!r} is not a library name")
        try:
            SpecifierSet(spec)
        except InvalidSpecifier:
            raise ValueError(f"{name}: {spec!r} is not a PEP 440 specifier like '>=4.30'") from None
    return dict(requires)


def _check_instance_handle(text: str) -> str:
    try:
        handle = Handle.parse(text)
    except HandleError as exc:
        raise ValueError(str(exc)) from None
    if handle.is_partial or handle.version is not None:
        raise ValueError(f"handle {text!r} must be exactly owner/model/framework/variation")
    if str(handle) != text:
        raise ValueError(f"handle {text!r} must be spelled {str(handle)!r}")
    return text


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileRecord(_Document):
    """One file of a model version, stored in the registry."""

    path: StrictStr = Field(description="Path relative to the version's root, '/'-separated.")
    size: Annotated[StrictInt, Field(ge=0, description="Size in bytes.")]
    sha256: StrictStr = Field(
        description="Lower-case hex SHA-256 of the bytes.", json_schema_extra={"pattern": _SHA256.pattern}
    )
    url: StrictStr = Field(description="Where the bytes are: relative to this document, or an absolute URL.")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_relative_path(value)

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        if not _SHA256.match(value):
            raise ValueError(f"{value!r} is not 64 lower-case hex digits")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value) or "\\" in value:
            raise ValueError(f"url {value!r} is empty or contains spaces or backslashes")
        scheme = _URL_SCHEME.match(value)
        if scheme and scheme.group(1).lower() not in _URL_SCHEMES:
            raise ValueError(f"url {value!r} has scheme {scheme.group(1)!r}; use http, https, file or a relative url")
        return value


class BaseRecord(_Document):
    """The base model a fine-tune needs, with the versions of it that work."""

    handle: StrictStr = Field(description="Handle of the base model instance; may be partial (owner/model).")
    versions: StrictStr = Field(default="", description="PEP 440 specifier over its versions; empty admits all.")

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        try:
            handle = Handle.parse(value)
        except HandleError as exc:
            raise ValueError(str(exc)) from None
        if handle.version is not None:
            raise ValueError(f"base handle {value!r} must not pin a version; use 'versions' instead")
        return value

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            raise ValueError(f"{value!r} is not a PEP 440 specifier like '>=2'") from None
        return value


class MetricRecord(_Document):
    """One published measurement of a version: ``value`` of ``metric`` on ``dataset``, and its source."""

    dataset: StrictStr = Field(min_length=1, description="What was measured on, e.g. 'glue/sst2' or a dataset URL.")
    metric: StrictStr = Field(min_length=1, description="What was measured, e.g. 'accuracy' or 'f1'.")
    value: StrictInt | StrictFloat = Field(description="The measurement (a JSON number).")
    source: StrictStr | None = Field(
        default=None, description="Where the number comes from: a URL or a short note (a paper, an eval run)."
    )

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a metric's value must be a finite number")
        return value


class VersionMetadata(_Document):
    """What a version says about itself; also the ``version.json`` the registry builder reads."""

    license: StrictStr | None = Field(description="Licence display string as published ('Apache 2.0'), or null.")
    requires: dict[StrictStr, StrictStr] = Field(
        default_factory=dict,
        description="Library (or 'python') → PEP 440 specifier, beyond what the framework implies.",
    )
    base: BaseRecord | None = Field(default=None, description="The base model this fine-tune needs, or null.")
    published: StrictStr = Field(
        description="When the version was published: ISO-8601 UTC ending in 'Z'.",
        json_schema_extra={"pattern": _PUBLISHED.pattern},
    )
    metrics: tuple[MetricRecord, ...] = Field(
        default=(), description="Benchmarks of this version (optional; omitted when there are none)."
    )
    training_data: tuple[StrictStr, ...] = Field(
        default=(), description="What the version was trained on: dataset URLs or names (optional)."
    )

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: tuple[MetricRecord, ...]) -> tuple[MetricRecord, ...]:
        _refuse_duplicates(((m.dataset, m.metric) for m in value), "metric (dataset, metric)")
        return value

    @field_validator("requires")
    @classmethod
    def _requires(cls, value: dict[str, str]) -> dict[str, str]:
        return check_requires(value)

    @field_validator("published")
    @classmethod
    def _published(cls, value: str) -> str:
        return check_published(value)


class VersionRecord(VersionMetadata):
    """One published version of a model instance: its metadata, number and files."""

    version: Annotated[StrictInt, Field(ge=1, description="Version number; Kaggle versions are 1, 2, 3, ...")]
    files: tuple[FileRecord, ...] = Field(description="The version's files, sorted by path.")

    @field_validator("files")
    @classmethod
    def _files(cls, value: tuple[FileRecord, ...]) -> tuple[FileRecord, ...]:
        _refuse_duplicates((f.path for f in value), "file path")
        return value


class InstanceDocument(_Document):
    """Everything the registry knows about one model instance: its versions, newest first."""

    format: Literal[1] = Field(description="Document format; this kmenv reads format 1.")
    handle: StrictStr = Field(description="The instance: owner/model/framework/variation.")
    title: StrictStr | None = Field(default=None, description="Human title of the model, or null.")
    description: StrictStr | None = Field(default=None, description="One-paragraph description, or null.")
    versions: tuple[VersionRecord, ...] = Field(description="Every version, newest first (at least one).")

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        return _check_instance_handle(value)

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: tuple[VersionRecord, ...]) -> tuple[VersionRecord, ...]:
        if not value:
            raise ValueError("an instance needs at least one version")
        _refuse_duplicates((v.version for v in value), "version")
        return value


class IndexEntry(_Document):
    """One model instance listed in the index."""

    handle: StrictStr = Field(description="The instance: owner/model/framework/variation.")
    document: StrictStr = Field(description="Path of the instance document, relative to index.json.")
    latest: Annotated[StrictInt, Field(ge=1, description="Its newest version number.")]

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        return _check_instance_handle(value)

    @field_validator("document")
    @classmethod
    def _document(cls, value: str) -> str:
        return check_relative_path(value)


class RegistryIndex(_Document):
    """``index.json``: the registry's name and every model instance it holds, sorted by handle."""

    format: Literal[1] = Field(description="Document format; this kmenv reads format 1.")
    name: StrictStr = Field(description="The registry's own name (projects may call it something else).")
    instances: tuple[IndexEntry, ...] = Field(description="Every instance, sorted by handle.")

    @field_validator("instances")
    @classmethod
    def _instances(cls, value: tuple[IndexEntry, ...]) -> tuple[IndexEntry, ...]:
        _refuse_duplicates((e.handle for e in value), "handle")
        return value


_Doc = TypeVar("_Doc", bound=_Document)


def _refuse_duplicates(values: Iterable[object], what: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears more than once")
        seen.add(value)


def parse_index(data: object, where: str) -> RegistryIndex:
    """Validate a decoded ``index.json``; ``where`` (its URL or path) goes into the error message."""
    return _parse(RegistryIndex, data, where)


def parse_instance(data: object, where: str) -> InstanceDocument:
    """Validate a decoded instance document; ``where`` (its URL or path) goes into the error message."""
    return _parse(InstanceDocument, data, where)


def _parse(model: type[_Doc], data: object, where: str) -> _Doc:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [f"{path}: {message}" for path, message in validation_problems(exc)]
        shown = "; ".join(problems[:_MAX_SHOWN])
        if len(problems) > _MAX_SHOWN:
            shown += f"; and {len(problems) - _MAX_SHOWN} more"
        count = counted(len(problems), "problem")
        if any(e["loc"] == ("format",) and e["type"] == "literal_error" for e in errors):
            hint = f"this kmenv reads format {FORMAT}; upgrade kmenv to read this registry"
        else:
            hint = "the registry is damaged or was edited by hand; rebuild it with `kmenv registry build`"
        raise RegistryDocumentError(f"{where}: {count}: {shown}", hint=hint) from None


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Each problem pydantic found, as ``(JSON path like "$.versions[0].license", readable message)``."""
    return [(_json_path(e["loc"]), _describe(e)) for e in exc.errors(include_url=False)]


def _json_path(loc: tuple[int | str, ...]) -> str:
    path = "$"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}"
        else:
            path += f"[{part!r}]"
    return path


_JSON_TYPES = {
    "tuple_type": "must be a JSON array",
    "list_type": "must be a JSON array",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "int_type": "must be a whole number",
    "string_type": "must be a string",
}


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in _JSON_TYPES:
        return f"{_JSON_TYPES[kind]}, not {json.dumps(error['input'], default=str)[:40]}"
    message = str(error["msg"])
    return message[:1].lower() + message[1:]
