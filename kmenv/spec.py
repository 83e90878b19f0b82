"""The ``kmodels.yaml`` model: its raw shape, the resolver-facing view, and a loader that reports every problem at once.

:func:`parse_spec` is the checked door: it reads YAML with positions, validates the shape and every value with the
pydantic models below, adds the checks that span several keys (registry references, one name per model instance), and
raises one :class:`~kmenv.errors.SpecError` listing every problem with its line, column, key path and hint.
Pure: only :func:`load_spec` touches the disk.
"""

from __future__ import annotations

import difflib
import functools
import pathlib
import re
from collections.abc import Iterator, Mapping, Sequence
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
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scalarbool import ScalarBoolean

from kmenv.errors import Problem, ProjectNotFoundError, SpecError
from kmenv.handles import Handle, HandleError

__all__ = [
    "FORMAT_VERSION",
    "DeclaredModel",
    "DeclaredRegistry",
    "EnvironmentSpec",
    "LicenceExceptionSpec",
    "LicencesSpec",
    "ModelSpec",
    "PolicySpec",
    "ProjectSpec",
    "RegistrySpec",
    "load_spec",
    "parse_spec",
]

#: The only ``version:`` this kmenv reads.
FORMAT_VERSION = 1

_Loc = tuple[str | int, ...]
#: One problem before it is placed in the file: where (a pydantic-style loc), what, and what to do.
_Finding = tuple[_Loc, str, str | None]


# --- value checks, shared by the pydantic models --------------------------------------------------------------------


def _invalid(message: str, hint: str | None = None) -> PydanticCustomError:
    """A validation error that carries our own message and hint through pydantic untouched."""
    return PydanticCustomError("kmenv", "{message}", {"message": message, "hint": hint})


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_PACKAGE_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_WHOLE_NUMBER = re.compile(r"^[0-9]+$")


def _check_model_name(name: str) -> str:
    """A model name becomes a folder in the environment, so it must be one on every platform."""
    if not _SAFE_NAME.match(name) or name.endswith("."):
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


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
HandleText = Annotated[str, AfterValidator(_check_handle)]
VersionsText = Annotated[str, AfterValidator(_check_versions)]
ModelName = Annotated[str, AfterValidator(_check_model_name)]
VersionText = Annotated[
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

    handle: HandleText = Field(
        description="owner/model[/framework/variation[/version]]; partial lets the resolver pick"
    )
    version: VersionsText | None = Field(None, description="PEP 440 specifier over integer versions, e.g. >=2,<4")
    files: tuple[Annotated[str, AfterValidator(_check_file_glob)], ...] | None = Field(
        None, min_length=1, description="glob subset of the version's files to install (default: all)"
    )
    registry: Text | None = Field(None, description="a registry name under registries: (default: the first)")

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


ModelDeclaration = Annotated[
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

    python: VersionText | None = Field(None, description='Python version, e.g. "3.11"')
    packages: dict[Annotated[str, AfterValidator(_check_package_name)], VersionText] = Field(
        default_factory=dict, description="distribution name -> exact installed version"
    )
    detect: StrictBool = Field(False, description="read the running interpreter's packages; declared ones override")


class LicenceExceptionSpec(_Section):
    """Lets one model use licences the rest of the policy would refuse, for a stated reason."""

    model: Annotated[Text, AfterValidator(_check_instance_or_name)] = Field(
        description="a model name under models:, or a full instance handle"
    )
    versions: VersionsText | None = Field(None, description="only these versions, e.g. >=2")
    allow: tuple[Text, ...] = Field(min_length=1, description="licence ids (SPDX or LicenseRef-kmenv-...) allowed")
    reason: Text = Field(description="why this is acceptable, for the next reader")


class LicencesSpec(_Section):
    """``policy.licenses``: allow-list (optional), deny-list, what to do with unknown licences, exceptions."""

    allow: tuple[Text, ...] | None = Field(None, description="allowed licence ids; absent = all not denied")
    deny: tuple[Text, ...] = Field((), description="denied licence ids")
    unknown: Literal["deny", "warn", "allow"] = Field("deny", description="what an unrecognised licence gets")
    exceptions: tuple[LicenceExceptionSpec, ...] = Field((), description="per-model exceptions")


class PolicySpec(_Section):
    """``policy:``; today only licences."""

    licenses: LicencesSpec | None = None


class ProjectSpec(_Section):
    """The whole ``kmodels.yaml``, as written. Build it with :func:`parse_spec`, which also checks cross-references."""

    version: Literal[1] = Field(description="format version of kmodels.yaml")
    registries: dict[Text, RegistrySpec] = Field(
        default_factory=dict, description="where models come from, in order; the first is the default (kaggle if none)"
    )
    environment: EnvironmentSpec | None = None
    policy: PolicySpec | None = None
    models: dict[ModelName, ModelDeclaration] = Field(description="name -> handle, handle@versions, or a mapping")

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


# --- loading with positions -----------------------------------------------------------------------------------------


def load_spec(path: pathlib.Path) -> ProjectSpec:
    """Read ``kmodels.yaml`` (UTF-8) and parse it; raises :class:`SpecError` or :class:`ProjectNotFoundError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProjectNotFoundError(f"{path} does not exist", hint="create one with kmenv init") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = Problem(str(path), "", "the file is not UTF-8 text", "save it as UTF-8", line=line)
        raise SpecError([problem]) from None
    return parse_spec(text, str(path))


def parse_spec(text: str, filename: str = "kmodels.yaml") -> ProjectSpec:
    """Parse and check ``kmodels.yaml`` text; raises one :class:`SpecError` holding every problem, sorted by line."""
    root, duplicates = _read_yaml(text, filename)
    if root is None:
        hint = "start with version: 1 and models: {} (kmenv init writes a commented starter file)"
        raise SpecError([Problem(filename, "", "the file is empty", hint)])
    if not isinstance(root, dict):
        hint = "the top level holds keys: version, registries, environment, policy, models"
        raise SpecError([Problem(filename, "", "expected a mapping at the top level", hint, line=1, column=1)])
    place = _Placer(filename, root)
    version_findings, readable = _format_version(root)
    if not readable:
        raise SpecError([place(*finding) for finding in version_findings])
    problems = [*duplicates, *(place(*f) for f in (*version_findings, *_lossy_numbers(root, text)))]
    spec: ProjectSpec | None = None
    try:
        spec = ProjectSpec.model_validate(_plain(root))
    except ValidationError as exc:
        errors = [error for error in exc.errors(include_url=False) if error["loc"][:1] != ("version",)]
        problems += [place(*_explain(error)) for error in errors]
    problems += [place(*finding) for finding in _cross_references(root)]
    if problems or spec is None:
        unique = dict.fromkeys(problems)
        raise SpecError(sorted(unique, key=lambda p: (p.line or 0, p.column or 0, p.key, p.message)))
    return spec


def _read_yaml(text: str, filename: str) -> tuple[Any, list[Problem]]:
    """The round-trip document (it keeps positions) and a problem per duplicate key; syntax errors raise."""
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text), []
    except DuplicateKeyError:
        duplicates = [Problem(filename, *d) for d in _duplicate_keys(yaml.compose(text), ())]
        yaml = YAML(typ="rt")
        yaml.allow_duplicate_keys = True
        return yaml.load(text), duplicates
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc.context}"
        hint = "check the indentation, colons and quotes here"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise SpecError([Problem(filename, "", message, hint, line=line, column=column)]) from None


def _duplicate_keys(node: Node, path: tuple[str | int, ...]) -> Iterator[tuple[str, str, str, int, int]]:
    """(key, message, hint, line, column) for each repeated key, at its second occurrence."""
    if isinstance(node, MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, ScalarNode) else ""
            mark = key.start_mark
            if name in first:
                what = "model name" if path == ("models",) else "key"
                message = f"duplicate {what} {name!r} (first on line {first[name]})"
                yield (
                    _dotted((*path, name)),
                    message,
                    "each key may appear once; rename or remove one",
                    mark.line + 1,
                    mark.column + 1,
                )
            else:
                first[name] = mark.line + 1
            yield from _duplicate_keys(value, (*path, name))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


def _plain(node: Any) -> Any:
    """Round-trip containers and scalar subclasses as plain Python values, for pydantic."""
    if isinstance(node, dict):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, (bool, ScalarBoolean)):
        return bool(node)
    for kind in (int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


def _format_version(root: Mapping[Any, Any]) -> tuple[list[_Finding], bool]:
    """Findings about ``version:``, and whether the rest is worth checking (not when it is another format)."""
    if "version" not in root:
        return [(("version",), "missing version", f"add version: {FORMAT_VERSION} as the first line")], True
    value = root["version"]
    if isinstance(value, int) and not isinstance(value, (bool, ScalarBoolean)):
        if value == FORMAT_VERSION:
            return [], True
        return [
            (
                ("version",),
                f"format version {value} is not supported",
                f"this kmenv reads version {FORMAT_VERSION}; upgrade kmenv",
            )
        ], False
    return [
        (
            ("version",),
            f"expected the number {FORMAT_VERSION}, got {_describe(value)}",
            f"write version: {FORMAT_VERSION}",
        )
    ], True


def _lossy_numbers(root: Mapping[Any, Any], text: str) -> Iterator[_Finding]:
    """Versions YAML read as numbers that do not print back as written (``4.40`` became ``4.4``)."""
    environment = root.get("environment")
    if not isinstance(environment, dict):
        return
    places: list[tuple[_Loc, Any, Any]] = [(("environment", "python"), environment, "python")]
    packages = environment.get("packages")
    if isinstance(packages, dict):
        places += [(("environment", "packages", name), packages, name) for name in packages]
    lines = text.split("\n")
    for loc, parent, key in places:
        value = parent.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, (bool, ScalarBoolean)) and key in parent.lc.data:
            line, column = parent.lc.data[key][2:4]
            written = re.split(r"\s#|[,\]}]", lines[line][column:], maxsplit=1)[0].strip()
            if written != str(value):
                yield (
                    loc,
                    f"{written} is read as the number {value}, not the version as written",
                    f'quote the version: "{written}"',
                )


def _cross_references(root: Mapping[Any, Any]) -> Iterator[_Finding]:
    """Checks that span keys: registries named by models exist, each model is declared once, exceptions match."""
    registries = root.get("registries")
    declared = [str(name) for name in registries] if isinstance(registries, dict) and registries else ["kaggle"]
    models = root.get("models")
    models = models if isinstance(models, dict) else {}
    by_instance: dict[str, str] = {}
    by_folded_name: dict[str, str] = {}
    for name, declaration in models.items():
        entry = declaration if isinstance(declaration, dict) else {}
        handle_text = entry.get("handle") if entry else declaration
        handle_loc: _Loc = ("models", name, "handle") if entry else ("models", name)
        registry = entry.get("registry")
        if isinstance(registry, str) and registry.strip() and registry.strip() not in declared:
            yield (
                ("models", name, "registry"),
                f"registry {registry!r} is not declared",
                _choices_hint(registry, declared, "declared"),
            )
        handle = _quiet_handle(handle_text)
        if handle is not None:
            instance = str(handle.unversioned())
            if instance.lower() in by_instance:
                first = by_instance[instance.lower()]
                yield (
                    handle_loc,
                    f"{instance} is already declared as {first!r}",
                    f"declare each model once; remove {first!r} or this one",
                )
            by_instance.setdefault(instance.lower(), str(name))
        folded = str(name).lower()
        if folded in by_folded_name:
            yield (
                ("models", name, "[key]"),
                f"model name {name!r} differs from {by_folded_name[folded]!r} only in case",
                "their folders would collide on case-insensitive file systems; rename one",
            )
        by_folded_name.setdefault(folded, str(name))
    yield from _exception_references(root, [str(name) for name in models])


def _exception_references(root: Mapping[Any, Any], names: list[str]) -> Iterator[_Finding]:
    policy = root.get("policy")
    licenses = policy.get("licenses") if isinstance(policy, dict) else None
    exceptions = licenses.get("exceptions") if isinstance(licenses, dict) else None
    for index, exception in enumerate(exceptions if isinstance(exceptions, list) else []):
        model = exception.get("model") if isinstance(exception, dict) else None
        if isinstance(model, str) and model.strip() and "/" not in model and model.strip() not in names:
            loc = ("policy", "licenses", "exceptions", index, "model")
            yield (
                loc,
                f"exception for {model!r}, which models: does not declare",
                _choices_hint(model, names, "declared"),
            )


def _quiet_handle(text: object) -> Handle | None:
    """The handle in a shorthand or handle string, or None when it is malformed (reported elsewhere)."""
    if not isinstance(text, str):
        return None
    try:
        return Handle.parse(text.partition("@")[0])
    except HandleError:
        return None


def _choices_hint(value: str, choices: Sequence[str], label: str) -> str | None:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"{label}: {', '.join(choices)}" if choices else None


# --- pydantic errors in our words -----------------------------------------------------------------------------------

_EXPECTED = {
    "string_type": "text",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}
_MISSING_HINTS = {
    "models": "add models: {} and then kmenv add HANDLE",
    "handle": "every model needs handle: owner/model[/framework/variation]",
    "reason": 'say why the exception is acceptable, e.g. reason: "approved by legal, 2026-10"',
    "allow": "list the licence ids the exception allows, e.g. allow: [LicenseRef-kmenv-Gemma]",
    "model": "name a model under models:, or a full instance handle",
}


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, (bool, ScalarBoolean)):
        return str(bool(value)).lower()
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return repr(str(value))
    return "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else type(value).__name__


def _explain(error: Mapping[str, Any]) -> tuple[_Loc, str, str | None]:
    """A pydantic error as (loc, message, hint); ``[key]`` at the end of loc points the problem at the key."""
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    ctx = error.get("ctx") or {}
    last = str(loc[-1]) if loc else ""
    if kind == "kmenv":
        return loc, ctx["message"], ctx.get("hint")
    if kind == "missing":
        return loc, f"missing key {last!r}", _MISSING_HINTS.get(last)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(last.lower(), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"valid keys here: {', '.join(allowed)}"
        return (*loc, "[key]"), f"unknown key {last!r}", hint
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else f"write one of: {', '.join(choices)}"
        return loc, f"{_describe(value)} is not one of: {', '.join(choices)}", hint
    if kind in ("string_too_short", "too_short"):
        return loc, "must not be empty", "remove the key to use the default" if last in ("files", "allow") else None
    if kind in _EXPECTED:
        return loc, f"expected {_EXPECTED[kind]}, got {_describe(value)}", _type_hint(_EXPECTED[kind], value, last)
    message = str(error["msg"])
    return loc, message[:1].lower() + message[1:], None


def _type_hint(expected: str, value: object, key: str) -> str | None:
    if expected == "text" and isinstance(value, int) and key in ("version", "versions"):
        return f'write a specifier such as "=={value}" or ">={value}"'
    if expected == "text" and isinstance(value, (int, float)):
        return f'quote it: "{value}"'
    if expected == "true or false":
        return "write true or false"
    if expected == "a mapping" and value is None:
        return "write {} for an empty mapping"
    return "write [a, b], or one '- item' per line" if expected == "a list" else None


@functools.cache
def _schema() -> dict[str, Any]:
    return ProjectSpec.model_json_schema()


def _allowed_keys(loc: _Loc) -> list[str]:
    """The keys the schema allows in the mapping at ``loc`` (union tags in loc are skipped), for "did you mean"."""
    schema = _schema()
    definitions = schema.get("$defs", {})

    def branches(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if "$ref" in node:
            yield from branches(definitions[node["$ref"].rsplit("/", 1)[-1]])
        elif any(k in node for k in ("anyOf", "oneOf", "allOf")):
            for branch in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
                yield from branches(branch)
        else:
            yield node

    nodes = [schema]
    for part in loc:
        following = []
        for node in (b for n in nodes for b in branches(n)):
            properties = node.get("properties", {})
            if isinstance(part, str) and part in properties:
                following.append(properties[part])
            elif isinstance(part, str) and isinstance(node.get("additionalProperties"), dict):
                following.append(node["additionalProperties"])
            elif isinstance(part, int) and "items" in node:
                following.append(node["items"])
        nodes = following or nodes  # a union tag: stay where we are
    return sorted({key for n in nodes for b in branches(n) for key in b.get("properties", {})})


@dataclass(frozen=True)
class _Placer:
    """Turns a pydantic-style loc into a Problem at the matching key or value of the round-trip document."""

    filename: str
    root: Any

    def __call__(self, loc: _Loc, message: str, hint: str | None) -> Problem:
        node, path = self.root, []
        key_at: tuple[int, int] | None = None
        value_at: tuple[int, int] | None = None
        at_key = bool(loc) and loc[-1] == "[key]"
        parts = loc[:-1] if at_key else loc
        for index, part in enumerate(parts):
            if index == 2 and parts[0] == "models" and part in ("shorthand", "entry"):
                continue  # the union tag pydantic puts after a model's name
            if isinstance(node, CommentedMap) and part in node:
                kl, kc, vl, vc = node.lc.data[part]
                key_at, value_at, node = (kl, kc), (vl, vc), node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line, column = node.lc.data[part]
                key_at = value_at = (line, column)
                node = node[part]
            else:
                at_key = True  # a missing key: point at its parent's key
            path.append(part)
        spot = key_at if at_key or isinstance(node, (dict, list)) or value_at is None else value_at
        line, column = (spot[0] + 1, spot[1] + 1) if spot else (None, None)
        return Problem(self.filename, _dotted(path), message, hint, line=line, column=column)


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text
