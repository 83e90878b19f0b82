"""The value types of ``kmodels.yaml``: each field's check, with the message and hint a user sees.

Each check raises :func:`invalid`, a pydantic error that carries kmenv's own wording through
validation untouched, so :mod:`kmenv.spec._problems` can place it at its line and key. The
``Annotated`` aliases at the bottom are what :mod:`kmenv.spec.document`'s models declare.
"""

from __future__ import annotations

import re
from typing import Annotated

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import AfterValidator, BeforeValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from kmenv.errors import HandleError
from kmenv.values.handles import Handle
from kmenv.values.paths import model_name_problem

__all__ = [
    "Expression",
    "FileGlob",
    "GroupName",
    "HandleText",
    "InstanceOrName",
    "LicenceId",
    "ModelName",
    "PackageName",
    "Shorthand",
    "SizeText",
    "Text",
    "Url",
    "VersionText",
    "VersionsText",
    "check_pin_agrees",
    "invalid",
]


def invalid(message: str, hint: str | None = None) -> PydanticCustomError:
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
        raise invalid(
            f"model name {name!r} is not a safe folder name", f"{hint}, e.g. {suggestion!r}" if suggestion else hint
        )
    if name.split(".")[0].lower() in _WINDOWS_DEVICES:
        raise invalid(f"model name {name!r} is a reserved device name on Windows", "choose another name")
    return name


#: The group the main ``models:`` form in the lock and on the command line; no ``groups:`` entry may take its name.
DEFAULT_GROUP = "default"


def _check_group_name(name: str) -> str:
    """A group name is typed on the command line (``--group NAME``) and stored in the lock: a model name's shape."""
    if model_name_problem(name) is not None:
        raise invalid(f"group name {name!r} is not a plain name", "use letters, digits, '.', '_' and '-'")
    if name == DEFAULT_GROUP:
        raise invalid(
            f"group name {DEFAULT_GROUP!r} is reserved for the models under models:",
            "declare those models under models:, or choose another group name",
        )
    return name


def _check_size(value: object) -> str:
    """A size budget such as ``20GiB``; YAML may read a bare number of bytes as an int."""
    from kmenv.values.sizes import SIZE_HINT, parse_size

    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or parse_size(text) is None:
        raise invalid(f"{text!r} is not a size", SIZE_HINT)
    return text.strip()


def _check_handle(text: str) -> str:
    try:
        Handle.parse(text)
    except HandleError as exc:
        raise invalid(str(exc), exc.hint) from None
    return text.strip()


def _check_instance_or_name(text: str) -> str:
    """Exceptions name a model by project name, or by a full instance handle (a partial one would match nothing)."""
    if "/" in text and Handle.parse(_check_handle(text)).is_partial:
        raise invalid(f"{text!r} is a partial handle", "name the model by its project name or its full instance handle")
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
        raise invalid(
            f"{written!r}: '~=' compares dotted versions, and Kaggle versions are whole numbers",
            f"Kaggle versions are whole numbers; write >={n},<{n + 1} for version {n} only, or >={n} for {n} and later",
        )
    try:
        specifiers = SpecifierSet(written)
    except InvalidSpecifier:
        raise invalid(f"{written!r} is not a PEP 440 version specifier", "write e.g. >=2,<4 or ==3") from None
    for spec in specifiers:
        if spec.operator == "===" or not _WHOLE_NUMBER.match(spec.version):
            raise invalid(f"{written!r}: {spec.version!r} is not a whole number", _whole_number_hint(spec))
    return written


def check_pin_agrees(handle_text: str, versions: str) -> None:
    """A versioned handle already means ``==N``; a ``version:`` beside it must admit N."""
    pinned = Handle.parse(handle_text).version
    if pinned is not None and versions.strip() and not SpecifierSet(versions).contains(str(pinned)):
        raise invalid(
            f"the handle pins version {pinned}, which {versions.strip()!r} excludes",
            f"drop /{pinned} from the handle, or the version constraint",
        )


def _check_shorthand(text: str) -> str:
    """``handle`` or ``handle@versions``."""
    handle_text, at, versions = text.partition("@")
    _check_handle(handle_text)
    if at:
        if not versions.strip():
            raise invalid(f"{text!r} has nothing after '@'", "write handle@versions, e.g. owner/model@>=2,<4")
        _check_versions(versions)
        check_pin_agrees(handle_text, versions)
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
        raise invalid(f"{text!r} is not a version", 'write an exact version, e.g. "2.3.1"') from None
    return text.strip()


def _check_package_name(name: str) -> str:
    if not _PACKAGE_NAME.match(name):
        raise invalid(f"{name!r} is not a Python package name", "use the distribution name, e.g. torch or scikit-learn")
    return name


def _check_file_glob(pattern: str) -> str:
    # A glob is not a path (``*`` and ``**`` are fine, a trailing ``/`` means a folder), so this stays its own,
    # looser check than kmenv.values.paths.relative_path_problem; it only keeps patterns relative and inside.
    parts = pattern.strip().split("/")
    if not pattern.strip() or pattern.startswith("/") or "\\" in pattern or ".." in parts:
        raise invalid(
            f"file pattern {pattern!r} is not a relative glob",
            "write patterns relative to the version's root with '/', e.g. weights/* or *.json",
        )
    return pattern.strip()


def _check_url(url: str) -> str:
    scheme = url.split("://", 1)[0].lower() if "://" in url else None
    if scheme not in (None, "file", "http", "https", "oci", "oci+http", "oci+https"):
        raise invalid(
            f"unsupported URL scheme {scheme!r}",
            "use a folder path, a file:// URL, an http(s):// URL or oci://HOST/NAMESPACE",
        )
    return url.strip()


def _check_licence_id(text: str) -> str:
    """Policy lists hold ids (``Apache-2.0``), not display names; a display name gets its id as the hint."""
    from kmenv.policy.table import is_licence_id

    written = text.strip()
    if is_licence_id(written) or (" WITH " in written and all(is_licence_id(p) for p in written.split(" WITH "))):
        return written
    from kmenv.policy.table import licence_table

    found = licence_table().normalise(written).spdx
    hint = f"write {found}" if found else "write an SPDX id such as Apache-2.0, or a LicenseRef-... id"
    raise invalid(f"{written!r} is not a licence id", hint)


def _check_expression(text: str) -> str:
    from kmenv.policy.table import licence_table

    normalised = licence_table().normalise(text)
    if normalised.status in ("unparseable", "missing"):
        raise invalid(
            f"{text.strip()!r} is not a licence expression",
            "write SPDX ids joined by AND / OR / WITH, e.g. Apache-2.0 OR MIT",
        )
    return text.strip()


# --- the field types the models declare ----------------------------------------------------------------------------

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
LicenceId = Annotated[Text, AfterValidator(_check_licence_id)]
Url = Annotated[str, AfterValidator(_check_url)]
FileGlob = Annotated[str, AfterValidator(_check_file_glob)]
Shorthand = Annotated[str, AfterValidator(_check_shorthand)]
PackageName = Annotated[str, AfterValidator(_check_package_name)]
InstanceOrName = Annotated[Text, AfterValidator(_check_instance_or_name)]
Expression = Annotated[Text, AfterValidator(_check_expression)]
GroupName = Annotated[str, AfterValidator(_check_group_name)]
SizeText = Annotated[
    str, BeforeValidator(_check_size), WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}]})
]
