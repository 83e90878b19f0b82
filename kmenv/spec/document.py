"""The ``kmodels.yaml`` model: its raw shape, the resolver-facing view, and a parser that reports every problem at once.

:func:`parse_spec` is the checked door: it reads YAML with positions, validates the shape and every value with the
pydantic models below (each field's own check is in :mod:`kmenv.spec._fields`), adds the checks that span several keys
(registry references, one name per model instance), and raises one :class:`~kmenv.errors.SpecError` listing every
problem with its line, column, key path and hint (:mod:`kmenv.spec._problems` finds them in the YAML and words them).
Pure: reading the file is :func:`kmenv.environment.project_files.read_spec`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from packaging.specifiers import Specifier
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kmenv.errors import Problem, SpecError
from kmenv.policy.table import Category
from kmenv.spec._fields import (
    Expression,
    FileGlob,
    GroupName,
    HandleText,
    InstanceOrName,
    LicenceId,
    ModelName,
    PackageName,
    Shorthand,
    SizeText,
    Text,
    Url,
    VersionsText,
    VersionText,
    check_pin_agrees,
    invalid,
)
from kmenv.spec._located import clipped, too_large
from kmenv.spec._problems import (
    Placer,
    cross_references,
    explain,
    format_version_findings,
    lossy_numbers,
    plain,
    read_yaml,
)
from kmenv.values.handles import Handle

__all__ = [
    "FORMAT_VERSION",
    "CleanupSpec",
    "DeclaredModel",
    "DeclaredRegistry",
    "EnvironmentSpec",
    "GroupSpec",
    "LicenceClarificationSpec",
    "LicenceExceptionSpec",
    "LicencesSpec",
    "ModelSpec",
    "PolicySpec",
    "ProjectSpec",
    "RegistrySpec",
    "parse_spec",
]

#: The only ``version:`` this kmenv reads.
FORMAT_VERSION = 1


# --- the raw shape --------------------------------------------------------------------------------------------------


def _yaml_key(field_name: str) -> str:
    """Python attribute ``allow_categories`` is spelled ``allow-categories`` in the file."""
    return field_name.replace("_", "-")


class _Section(BaseModel):
    """Every section is immutable and strict about keys: a typo is an error, never a silent default."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=_yaml_key)


class RegistrySpec(_Section):
    """One entry of ``registries:``; without ``type``, an ``oci://`` url means ``oci``, any other url ``static``."""

    type: Literal["kaggle", "static", "oci"] | None = Field(
        None, description="kaggle, static or oci (inferred from url)"
    )
    url: Url | None = Field(
        None,
        description="static: a folder (relative to kmodels.yaml), file:// or http(s):// URL; kaggle: API base; "
        "oci: oci://HOST[:PORT]/NAMESPACE or oci+http:// for plain HTTP",
    )

    @model_validator(mode="after")
    def _has_a_source(self) -> RegistrySpec:
        if self.type != "kaggle" and not self.url:
            raise invalid(
                "a static registry needs url:", "give url: (a folder, file:// or http(s):// URL), or type: kaggle"
            )
        if self.type == "kaggle" and self.url and not self.url.lower().startswith(("http://", "https://")):
            raise invalid("the Kaggle registry's url: must be an http(s):// API base", "e.g. https://api.kaggle.com/v1")
        if self.type is not None and (self.type == "oci") != _is_oci(self.url):
            raise invalid(
                "an OCI registry's url: starts with oci:// (or oci+http://), and only an OCI registry's does",
                "write url: oci://HOST[:PORT]/NAMESPACE and leave out type:, or type: oci",
            )
        return self

    def kind(self) -> Literal["kaggle", "static", "oci"]:
        """The registry type, inferred from the url when not written."""
        if self.type is not None:
            return self.type
        return "oci" if _is_oci(self.url) else "static"


def _is_oci(url: str | None) -> bool:
    """Whether ``url`` names an OCI registry (``oci://``, ``oci+http://``, ``oci+https://``)."""
    return url is not None and "://" in url and url.split("://", 1)[0].lower() in ("oci", "oci+http", "oci+https")


class ModelSpec(_Section):
    """The mapping form of a ``models:`` entry."""

    handle: HandleText = Field(
        description="owner/model[/framework/variation[/version]]; partial lets the resolver pick"
    )
    version: VersionsText | None = Field(None, description="PEP 440 specifier over integer versions, e.g. >=2,<4")
    files: tuple[FileGlob, ...] | None = Field(
        None, min_length=1, description="glob subset of the version's files to install (default: all)"
    )
    registry: Text | None = Field(None, description="a registry name under registries: (default: the first)")

    @field_validator("version")
    @classmethod
    def _agrees_with_handle(cls, versions: str | None, info: ValidationInfo) -> str | None:
        if versions is not None and "handle" in info.data:
            check_pin_agrees(info.data["handle"], versions)
        return versions


def _model_form(value: Any) -> str | None:
    if isinstance(value, str):
        return "shorthand"
    return "entry" if isinstance(value, (dict, ModelSpec)) else None


_ModelDeclaration = Annotated[
    Annotated[Shorthand, Tag("shorthand")] | Annotated[ModelSpec, Tag("entry")],
    Discriminator(
        _model_form,
        custom_error_type="kmenv",
        custom_error_message="{message}",
        custom_error_context={
            "message": "expected a handle or a mapping with handle:",
            "hint": "write name: owner/model/framework/variation, or name: {handle: ..., version: ...}",
        },
    ),
]


class EnvironmentSpec(_Section):
    """The Python environment models must fit; omitted means requirements are recorded, not checked."""

    python: VersionText | None = Field(None, description='Python version, e.g. "3.11"')
    packages: dict[PackageName, VersionText] = Field(
        default_factory=dict, description="distribution name -> exact installed version"
    )
    detect: StrictBool = Field(False, description="read the running interpreter's packages; declared ones override")


class LicenceExceptionSpec(_Section):
    """Lets one model use licences the rest of the policy would refuse, for a stated reason."""

    model: InstanceOrName = Field(description="a model name under models:, or a full instance handle")
    versions: VersionsText | None = Field(None, description="only these versions, e.g. >=2")
    allow: tuple[LicenceId, ...] = Field(min_length=1, description="licence ids (SPDX or LicenseRef-kmenv-...) allowed")
    reason: Text = Field(description="why this is acceptable, for the next reader")


class LicenceClarificationSpec(_Section):
    """States the licence of a model whose published licence is wrong or missing."""

    model: InstanceOrName = Field(description="a model name under models:, or a full instance handle")
    versions: VersionsText | None = Field(None, description="only these versions, e.g. ==3")
    expression: Expression = Field(description="the licence as an SPDX expression, e.g. Apache-2.0")


class LicencesSpec(_Section):
    """``policy.licenses``: allow-lists by id and category, deny-lists, unknown handling, exceptions, clarifications."""

    allow: tuple[LicenceId, ...] | None = Field(
        None, description="allowed licence ids; absent together with allow-categories = all not denied"
    )
    allow_categories: tuple[Category, ...] | None = Field(None, description="allowed licence categories")
    deny: tuple[LicenceId, ...] = Field((), description="denied licence ids (beat allow-categories)")
    deny_categories: tuple[Category, ...] = Field((), description="denied licence categories")
    unknown: Literal["deny", "warn", "allow"] = Field("deny", description="what an unrecognised licence gets")
    exceptions: tuple[LicenceExceptionSpec, ...] = Field((), description="per-model exceptions")
    clarify: tuple[LicenceClarificationSpec, ...] = Field(
        (), description="per-model licence corrections, for a published licence that is wrong or missing"
    )
    aliases: dict[Text, LicenceId] = Field(
        default_factory=dict, description="published licence string -> licence id, for names kmenv does not know"
    )

    @field_validator("aliases")
    @classmethod
    def _each_spelling_once(cls, aliases: dict[str, str]) -> dict[str, str]:
        # published strings are matched ignoring case and runs of spaces, so two such keys are one
        seen: dict[str, str] = {}
        for published in aliases:
            folded = " ".join(published.split()).lower()
            if folded in seen:
                raise invalid(
                    f"{seen[folded]!r} and {published!r} are one spelling (case and spaces are ignored)",
                    "keep one of them",
                )
            seen[folded] = published
        return aliases


class PolicySpec(_Section):
    """``policy:``; today only licences."""

    licenses: LicencesSpec | None = None


class GroupSpec(_Section):
    """One entry of ``groups:``: models installed only when asked for (``install --group NAME``)."""

    models: dict[ModelName, _ModelDeclaration] = Field(
        default_factory=dict, description="name -> handle, handle@versions, or a mapping, as under models:"
    )


class CleanupSpec(_Section):
    """``cleanup:``: what a successful ``kmenv install`` tidies away by itself (``KMENV_*`` variables win)."""

    keep_generations: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        None, description="generations of this environment kept after each install, the one in use included (3)"
    )
    cache_max: SizeText | None = Field(
        None, description="store size budget, e.g. 20GiB: least recently used unreferenced blobs go past it"
    )


class ProjectSpec(_Section):
    """The whole ``kmodels.yaml``, as written. Build it with :func:`parse_spec`, which also checks cross-references."""

    version: Literal[1] = Field(description="format version of kmodels.yaml")
    registries: dict[Text, RegistrySpec] = Field(
        default_factory=dict, description="where models come from, in order; the first is the default (kaggle if none)"
    )
    environment: EnvironmentSpec | None = None
    policy: PolicySpec | None = None
    models: dict[ModelName, _ModelDeclaration] = Field(description="name -> handle, handle@versions, or a mapping")
    groups: dict[GroupName, GroupSpec] = Field(
        default_factory=dict, description="named groups of models installed only on request (install --group NAME)"
    )
    cleanup: CleanupSpec | None = None

    def declared_registries(self) -> tuple[DeclaredRegistry, ...]:
        """In file order; a project that declares none uses Kaggle."""
        if not self.registries:
            return (DeclaredRegistry("kaggle", "kaggle", None),)
        return tuple(DeclaredRegistry(name, reg.kind(), reg.url) for name, reg in self.registries.items())

    def default_registry(self) -> str:
        return self.declared_registries()[0].name

    def declared_models(self) -> tuple[DeclaredModel, ...]:
        """Every model of every group, sorted by name, with shorthands split, pins made constraints and the registry
        filled in. Names are unique across groups (:func:`parse_spec` checks it)."""
        default = self.default_registry()
        found = [_declare(name, declaration, default, None) for name, declaration in self.models.items()]
        for group, spec in self.groups.items():
            found += [_declare(name, declaration, default, group) for name, declaration in spec.models.items()]
        return tuple(sorted(found, key=lambda d: d.name))


# --- the resolver-facing view ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclaredModel:
    """One model the project asks for, normalised for the resolver.

    ``name``: the project's key. ``handle``: possibly partial, never versioned. ``versions``: PEP 440 specifier
    over integer versions (``""`` admits all; a versioned handle becomes ``==N``). ``files``: globs to install,
    ``None`` for all. ``registry``: a declared registry name. ``group``: the ``groups:`` entry declaring it, None
    for the main ``models:``.
    """

    name: str
    handle: Handle
    versions: str
    files: tuple[str, ...] | None
    registry: str
    group: str | None = None


@dataclass(frozen=True)
class DeclaredRegistry:
    """A registry in file order. ``url`` is as written: a relative path is relative to kmodels.yaml's folder."""

    name: str
    type: Literal["kaggle", "static", "oci"]
    url: str | None


def _declare(name: str, declaration: str | ModelSpec, default_registry: str, group: str | None) -> DeclaredModel:
    if isinstance(declaration, ModelSpec):
        handle_text, versions = declaration.handle, declaration.version or ""
        files, registry = declaration.files, declaration.registry
    else:
        handle_text, _, versions = declaration.partition("@")
        files, registry = None, None
    handle = Handle.parse(handle_text)
    if handle.version is not None:
        versions = f"=={handle.version}"
    else:
        versions = ",".join(str(Specifier(part)) for part in versions.split(",") if part.strip())
    return DeclaredModel(name, handle.unversioned(), versions, files, registry or default_registry, group)


# --- parsing with positions -----------------------------------------------------------------------------------------


def decode_spec(data: bytes, filename: str = "kmodels.yaml") -> str:
    """The text of kmodels.yaml's bytes (UTF-8, a byte-order mark allowed); a located SpecError when not UTF-8.

    Bytes past :data:`~kmenv.spec.limits.MAX_SPEC_BYTES` are refused before they are decoded.
    """
    oversized = too_large(data, filename)
    if oversized is not None:
        raise oversized
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = Problem(filename, "", "the file is not UTF-8 text", "save it as UTF-8", line=line)
        raise SpecError([problem]) from None


def parse_spec(text: str, filename: str = "kmodels.yaml") -> ProjectSpec:
    """Parse and check ``kmodels.yaml`` text; raises one :class:`SpecError` holding every problem, sorted by line."""
    root, duplicates = read_yaml(text, filename)
    if root is None:
        hint = "start with version: 1 and models: {} (kmenv init writes a commented starter file)"
        raise SpecError([Problem(filename, "", "the file is empty", hint)])
    if not isinstance(root, dict):
        hint = "the top level holds keys: version, registries, environment, policy, models, groups, cleanup"
        raise SpecError([Problem(filename, "", "expected a mapping at the top level", hint, line=1, column=1)])
    place = Placer(filename, root)
    version_findings, readable = format_version_findings(root, FORMAT_VERSION)
    if not readable:
        raise SpecError([clipped(place(*finding)) for finding in version_findings])
    problems = [*duplicates, *(place(*f) for f in (*version_findings, *lossy_numbers(root, text)))]
    spec: ProjectSpec | None = None
    try:
        spec = ProjectSpec.model_validate(plain(root))
    except ValidationError as exc:
        errors = [error for error in exc.errors(include_url=False) if error["loc"][:1] != ("version",)]
        problems += [place(*explain(error, _schema)) for error in errors]
    problems += [place(*finding) for finding in cross_references(root)]
    if problems or spec is None:
        unique = dict.fromkeys(clipped(problem) for problem in problems)
        raise SpecError(sorted(unique, key=lambda p: (p.line or 0, p.column or 0, p.key, p.message)))
    return spec


@functools.cache
def _schema() -> dict[str, Any]:
    """The JSON schema of the whole file, built once and only when an unknown key needs "did you mean"."""
    return ProjectSpec.model_json_schema()
