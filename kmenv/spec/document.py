"""The ``kmodels.yaml`` model: its raw shape, the resolver-facing view, and a loader that reports every problem at once.

:func:`parse_spec` is the checked door: it reads YAML with positions, validates the shape and every value with the
pydantic models below, adds the checks that span several keys (registry references, one name per model instance), and
raises one :class:`~kmenv.errors.SpecError` listing every problem with its line, column, key path and hint
(:mod:`kmenv.spec.problems` finds them in the YAML and words them). Pure: reading the file is
:func:`kmenv.environment.project_files.read_spec`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kmenv.errors import HandleError, Problem, SpecError
from kmenv.policy.table import Category
from kmenv.spec.problems import (
    Placer,
    cross_references,
    explain,
    format_version_findings,
    lossy_numbers,
    plain,
    read_yaml,
)
from kmenv.values.handles import Handle
from kmenv.values.paths import model_name_problem

__all__ = [
    "FORMAT_VERSION",
    "DeclaredModel",
    "DeclaredRegistry",
    "EnvironmentSpec",
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


# --- value checks, shared by the pydantic models --------------------------------------------------------------------


def _invalid(message: str, hint: str | None = None) -> PydanticCustomError:
    """A validation error that carries our own message and hint through pydantic untouched."""
    return PydanticCustomError("kmenv", "{message}", {"message": message, "hint": hint})


_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_PACKAGE_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_WHOLE_NUMBER = re.compile(r"^[0-9]+$")


def _check_model_name(name: str) -> str:
    """A model name becomes a folder in the environment, so it must be one on every platform.

    The shape is :func:`kmenv.values.paths.model_name_problem`, the rule every layer applies. Windows device
    names are refused only here, where names are written: they are safe folders elsewhere, and a lock's names
    are the spec's.
    """
    if model_name_problem(name) is not None:
        suggestion = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("._-")
        hint = "use letters, digits, '.', '_' and '-', starting with a letter or digit"
        raise _invalid(
            f"model name {name!r} is not a safe folder name", f"{hint}, e.g. {suggestion!r}" if suggestion else hint
        )
    if name.split(".")[0].lower() in _WINDOWS_DEVICES:
        raise _invalid(f"model name {name!r} is a reserved device name on Windows", "choose another name")
    return name


def _check_handle(text: str) -> str:
    try:
        Handle.parse(text)
    except HandleError as exc:
        raise _invalid(str(exc), exc.hint) from None
    return text.strip()


def _check_instance_or_name(text: str) -> str:
    """Exceptions name a model by project name, or by a full instance handle (a partial one would match nothing)."""
    if "/" in text and Handle.parse(_check_handle(text)).is_partial:
        raise _invalid(
            f"{text!r} is a partial handle", "name the model by its project name or its full instance handle"
        )
    return text


def _whole_number_hint(spec: Specifier) -> str:
    written = spec.version[:-2] if spec.version.endswith(".*") else spec.version
    try:
        version = Version(written)
    except InvalidVersion:
        version = None
    plain = version is not None and version == Version(".".join(map(str, version.release)))
    if version is not None and plain and not any(version.release[1:]):
        return f"Kaggle versions are whole numbers; write {spec.operator}{version.release[0]}"
    return "Kaggle versions are whole numbers (1, 2, 3, ...); compare with those, e.g. >=2,<4"


def _check_versions(text: str) -> str:
    """A PEP 440 specifier over Kaggle's integer versions: ``>=2,<4``, ``==3``, ``!=5``."""
    written = text.strip()
    if "~=" in written:
        found = re.search(r"~=\s*(\d+)", written)
        n = int(found.group(1)) if found else 2
        raise _invalid(
            f"{written!r}: '~=' compares dotted versions, and Kaggle versions are whole numbers",
            f"Kaggle versions are whole numbers; write >={n},<{n + 1} for version {n} only, or >={n} for {n} and later",
        )
    try:
        specifiers = SpecifierSet(written)
    except InvalidSpecifier:
        raise _invalid(f"{written!r} is not a PEP 440 version specifier", "write e.g. >=2,<4 or ==3") from None
    for spec in specifiers:
        if spec.operator == "===" or not _WHOLE_NUMBER.match(spec.version):
            raise _invalid(f"{written!r}: {spec.version!r} is not a whole number", _whole_number_hint(spec))
    return written


def _check_pin_agrees(handle_text: str, versions: str) -> None:
    """A versioned handle already means ``==N``; a ``version:`` beside it must admit N."""
    pinned = Handle.parse(handle_text).version
    if pinned is not None and versions.strip() and not SpecifierSet(versions).contains(str(pinned)):
        raise _invalid(
            f"the handle pins version {pinned}, which {versions.strip()!r} excludes",
            f"drop /{pinned} from the handle, or the version constraint",
        )


def _check_shorthand(text: str) -> str:
    """``handle`` or ``handle@versions``."""
    handle_text, at, versions = text.partition("@")
    _check_handle(handle_text)
    if at:
        if not versions.strip():
            raise _invalid(f"{text!r} has nothing after '@'", "write handle@versions, e.g. owner/model@>=2,<4")
        _check_versions(versions)
        _check_pin_agrees(handle_text, versions)
    return text.strip()


def _number_as_text(value: object) -> object:
    """YAML reads ``2.3`` as a number; a version is text. (Lossy numbers like ``4.40`` are reported by the loader.)"""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _check_exact_version(text: str) -> str:
    try:
        Version(text)
    except InvalidVersion:
        raise _invalid(f"{text!r} is not a version", 'write an exact version, e.g. "2.3.1"') from None
    return text.strip()


def _check_package_name(name: str) -> str:
    if not _PACKAGE_NAME.match(name):
        raise _invalid(
            f"{name!r} is not a Python package name", "use the distribution name, e.g. torch or scikit-learn"
        )
    return name


def _check_file_glob(pattern: str) -> str:
    # A glob is not a path (``*`` and ``**`` are fine, a trailing ``/`` means a folder), so this stays its own,
    # looser check than kmenv.values.paths.relative_path_problem; it only keeps patterns relative and inside.
    parts = pattern.strip().split("/")
    if not pattern.strip() or pattern.startswith("/") or "\\" in pattern or ".." in parts:
        raise _invalid(
            f"file pattern {pattern!r} is not a relative glob",
            "write patterns relative to the version's root with '/', e.g. weights/* or *.json",
        )
    return pattern.strip()


def _check_url(url: str) -> str:
    scheme = url.split("://", 1)[0].lower() if "://" in url else None
    if scheme not in (None, "file", "http", "https"):
        raise _invalid(f"unsupported URL scheme {scheme!r}", "use a folder path, a file:// URL or an http(s):// URL")
    return url.strip()


_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_HandleText = Annotated[str, AfterValidator(_check_handle)]
_VersionsText = Annotated[str, AfterValidator(_check_versions)]
_ModelName = Annotated[str, AfterValidator(_check_model_name)]
_VersionText = Annotated[
    str,
    BeforeValidator(_number_as_text),
    AfterValidator(_check_exact_version),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}]}),
]


# --- the raw shape --------------------------------------------------------------------------------------------------


def _yaml_key(field_name: str) -> str:
    """Python attribute ``allow_categories`` is spelled ``allow-categories`` in the file."""
    return field_name.replace("_", "-")


class _Section(BaseModel):
    """Every section is immutable and strict about keys: a typo is an error, never a silent default."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=_yaml_key)


class RegistrySpec(_Section):
    """One entry of ``registries:``; ``type`` is ``static`` when only ``url`` is given."""

    type: Literal["kaggle", "static"] | None = Field(None, description="kaggle or static (inferred from url)")
    url: Annotated[str, AfterValidator(_check_url)] | None = Field(
        None, description="static: a folder (relative to kmodels.yaml), file:// or http(s):// URL; kaggle: API base"
    )

    @model_validator(mode="after")
    def _has_a_source(self) -> RegistrySpec:
        if self.type != "kaggle" and not self.url:
            raise _invalid(
                "a static registry needs url:", "give url: (a folder, file:// or http(s):// URL), or type: kaggle"
            )
        if self.type == "kaggle" and self.url and not self.url.lower().startswith(("http://", "https://")):
            raise _invalid(
                "the Kaggle registry's url: must be an http(s):// API base", "e.g. https://api.kaggle.com/v1"
            )
        return self


class ModelSpec(_Section):
    """The mapping form of a ``models:`` entry."""

    handle: _HandleText = Field(
        description="owner/model[/framework/variation[/version]]; partial lets the resolver pick"
    )
    version: _VersionsText | None = Field(None, description="PEP 440 specifier over integer versions, e.g. >=2,<4")
    files: tuple[Annotated[str, AfterValidator(_check_file_glob)], ...] | None = Field(
        None, min_length=1, description="glob subset of the version's files to install (default: all)"
    )
    registry: _Text | None = Field(None, description="a registry name under registries: (default: the first)")

    @field_validator("version")
    @classmethod
    def _agrees_with_handle(cls, versions: str | None, info: ValidationInfo) -> str | None:
        if versions is not None and "handle" in info.data:
            _check_pin_agrees(info.data["handle"], versions)
        return versions


def _model_form(value: Any) -> str | None:
    if isinstance(value, str):
        return "shorthand"
    return "entry" if isinstance(value, (dict, ModelSpec)) else None


_ModelDeclaration = Annotated[
    Annotated[Annotated[str, AfterValidator(_check_shorthand)], Tag("shorthand")] | Annotated[ModelSpec, Tag("entry")],
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

    python: _VersionText | None = Field(None, description='Python version, e.g. "3.11"')
    packages: dict[Annotated[str, AfterValidator(_check_package_name)], _VersionText] = Field(
        default_factory=dict, description="distribution name -> exact installed version"
    )
    detect: StrictBool = Field(False, description="read the running interpreter's packages; declared ones override")


def _check_licence_id(text: str) -> str:
    """Policy lists hold ids (``Apache-2.0``), not display names; a display name gets its id as the hint."""
    from kmenv.policy.table import is_licence_id

    written = text.strip()
    if is_licence_id(written) or (" WITH " in written and all(is_licence_id(p) for p in written.split(" WITH "))):
        return written
    from kmenv.policy.table import licence_table

    found = licence_table().normalise(written).spdx
    hint = f"write {found}" if found else "write an SPDX id such as Apache-2.0, or a LicenseRef-... id"
    raise _invalid(f"{written!r} is not a licence id", hint)


def _check_expression(text: str) -> str:
    from kmenv.policy.table import licence_table

    normalised = licence_table().normalise(text)
    if normalised.status in ("unparseable", "missing"):
        raise _invalid(
            f"{text.strip()!r} is not a licence expression",
            "write SPDX ids joined by AND / OR / WITH, e.g. Apache-2.0 OR MIT",
        )
    return text.strip()


_LicenceId = Annotated[_Text, AfterValidator(_check_licence_id)]


class LicenceExceptionSpec(_Section):
    """Lets one model use licences the rest of the policy would refuse, for a stated reason."""

    model: Annotated[_Text, AfterValidator(_check_instance_or_name)] = Field(
        description="a model name under models:, or a full instance handle"
    )
    versions: _VersionsText | None = Field(None, description="only these versions, e.g. >=2")
    allow: tuple[_LicenceId, ...] = Field(
        min_length=1, description="licence ids (SPDX or LicenseRef-kmenv-...) allowed"
    )
    reason: _Text = Field(description="why this is acceptable, for the next reader")


class LicenceClarificationSpec(_Section):
    """States the licence of a model whose published licence is wrong or missing."""

    model: Annotated[_Text, AfterValidator(_check_instance_or_name)] = Field(
        description="a model name under models:, or a full instance handle"
    )
    versions: _VersionsText | None = Field(None, description="only these versions, e.g. ==3")
    expression: Annotated[_Text, AfterValidator(_check_expression)] = Field(
        description="the licence as an SPDX expression, e.g. Apache-2.0"
    )


class LicencesSpec(_Section):
    """``policy.licenses``: allow-lists by id and category, deny-lists, unknown handling, exceptions, clarifications."""

    allow: tuple[_LicenceId, ...] | None = Field(
        None, description="allowed licence ids; absent together with allow-categories = all not denied"
    )
    allow_categories: tuple[Category, ...] | None = Field(None, description="allowed licence categories")
    deny: tuple[_LicenceId, ...] = Field((), description="denied licence ids (beat allow-categories)")
    deny_categories: tuple[Category, ...] = Field((), description="denied licence categories")
    unknown: Literal["deny", "warn", "allow"] = Field("deny", description="what an unrecognised licence gets")
    exceptions: tuple[LicenceExceptionSpec, ...] = Field((), description="per-model exceptions")
    clarify: tuple[LicenceClarificationSpec, ...] = Field(
        (), description="per-model licence corrections, for a published licence that is wrong or missing"
    )
    aliases: dict[_Text, _LicenceId] = Field(
        default_factory=dict, description="published licence string -> licence id, for names kmenv does not know"
    )


class PolicySpec(_Section):
    """``policy:``; today only licences."""

    licenses: LicencesSpec | None = None


class ProjectSpec(_Section):
    """The whole ``kmodels.yaml``, as written. Build it with :func:`parse_spec`, which also checks cross-references."""

    version: Literal[1] = Field(description="format version of kmodels.yaml")
    registries: dict[_Text, RegistrySpec] = Field(
        default_factory=dict, description="where models come from, in order; the first is the default (kaggle if none)"
    )
    environment: EnvironmentSpec | None = None
    policy: PolicySpec | None = None
    models: dict[_ModelName, _ModelDeclaration] = Field(description="name -> handle, handle@versions, or a mapping")

    def declared_registries(self) -> tuple[DeclaredRegistry, ...]:
        """In file order; a project that declares none uses Kaggle."""
        if not self.registries:
            return (DeclaredRegistry("kaggle", "kaggle", None),)
        return tuple(DeclaredRegistry(name, reg.type or "static", reg.url) for name, reg in self.registries.items())

    def default_registry(self) -> str:
        return self.declared_registries()[0].name

    def declared_models(self) -> tuple[DeclaredModel, ...]:
        """Every model, sorted by name, with shorthands split, pins made constraints and the registry filled in."""
        default = self.default_registry()
        return tuple(_declare(name, self.models[name], default) for name in sorted(self.models))


# --- the resolver-facing view ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclaredModel:
    """One model the project asks for, normalised for the resolver.

    ``name``: the project's key. ``handle``: possibly partial, never versioned. ``versions``: PEP 440 specifier
    over integer versions (``""`` admits all; a versioned handle becomes ``==N``). ``files``: globs to install,
    ``None`` for all. ``registry``: a declared registry name.
    """

    name: str
    handle: Handle
    versions: str
    files: tuple[str, ...] | None
    registry: str


@dataclass(frozen=True)
class DeclaredRegistry:
    """A registry in file order. ``url`` is as written: a relative path is relative to kmodels.yaml's folder."""

    name: str
    type: Literal["kaggle", "static"]
    url: str | None


def _declare(name: str, declaration: str | ModelSpec, default_registry: str) -> DeclaredModel:
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
    return DeclaredModel(name, handle.unversioned(), versions, files, registry or default_registry)


# --- parsing with positions -----------------------------------------------------------------------------------------


def parse_spec(text: str, filename: str = "kmodels.yaml") -> ProjectSpec:
    """Parse and check ``kmodels.yaml`` text; raises one :class:`SpecError` holding every problem, sorted by line."""
    root, duplicates = read_yaml(text, filename)
    if root is None:
        hint = "start with version: 1 and models: {} (kmenv init writes a commented starter file)"
        raise SpecError([Problem(filename, "", "the file is empty", hint)])
    if not isinstance(root, dict):
        hint = "the top level holds keys: version, registries, environment, policy, models"
        raise SpecError([Problem(filename, "", "expected a mapping at the top level", hint, line=1, column=1)])
    place = Placer(filename, root)
    version_findings, readable = format_version_findings(root, FORMAT_VERSION)
    if not readable:
        raise SpecError([place(*finding) for finding in version_findings])
    problems = [*duplicates, *(place(*f) for f in (*version_findings, *lossy_numbers(root, text)))]
    spec: ProjectSpec | None = None
    try:
        spec = ProjectSpec.model_validate(plain(root))
    except ValidationError as exc:
        errors = [error for error in exc.errors(include_url=False) if error["loc"][:1] != ("version",)]
        problems += [place(*explain(error, _schema)) for error in errors]
    problems += [place(*finding) for finding in cross_references(root)]
    if problems or spec is None:
        unique = dict.fromkeys(problems)
        raise SpecError(sorted(unique, key=lambda p: (p.line or 0, p.column or 0, p.key, p.message)))
    return spec


@functools.cache
def _schema() -> dict[str, Any]:
    """The JSON schema of the whole file, built once and only when an unknown key needs "did you mean"."""
    return ProjectSpec.model_json_schema()
