"""Read and check the source folder a static registry is built from (see :mod:`.build` for its layout).

:func:`scan_source` walks ``SOURCE/<owner>/<model>/<framework>/<variation>/<version>/`` and returns what it
found as plain values. It never stops at the first problem: every misplaced file, bad spelling, invalid
``instance.json``/``version.json`` and missing base model is collected, and all of them are raised together
as one :class:`~kmenv.errors.RegistrySourceError`, so one run shows everything to fix. Nothing is written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from packaging.specifiers import SpecifierSet
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from kmenv.errors import HandleError, Problem, RegistrySourceError
from kmenv.fs.bounded import read_json_file
from kmenv.registry.static.documents import (
    DOCUMENT_BOUNDS,
    VersionMetadata,
    check_relative_path,
    validation_problems,
)
from kmenv.values.documents import DocumentRefused
from kmenv.values.handles import Handle, closest_framework, normalise_framework

__all__ = ["LAYOUT_HINT", "InstanceMeta", "SourceFile", "SourceInstance", "SourceVersion", "scan_source"]

#: The hint for any problem with where things are in the source.
LAYOUT_HINT = "lay files out as SOURCE/<owner>/<model>/<framework>/<variation>/<version>/<files>"

_VERSION_FOLDER = re.compile(r"^[1-9][0-9]*$")
_INSTANCE_FILE = "instance.json"
_VERSION_FILE = "version.json"


class InstanceMeta(BaseModel):
    """An instance's optional ``instance.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: StrictStr | None = None
    description: StrictStr | None = None


_Meta = TypeVar("_Meta", bound=BaseModel)


@dataclass(frozen=True)
class SourceFile:
    """One file of a version: its registry path (``/``-separated, relative to the version) and where it is."""

    path: str
    location: Path


@dataclass(frozen=True)
class SourceVersion:
    """One version folder: its number, its ``version.json`` (read from ``where``) and its files by path."""

    number: int
    meta: VersionMetadata
    files: tuple[SourceFile, ...]
    where: Path


@dataclass(frozen=True)
class SourceInstance:
    """One model instance of the source, its versions oldest first."""

    handle: Handle
    meta: InstanceMeta
    versions: tuple[SourceVersion, ...]


def scan_source(source: Path) -> list[SourceInstance]:
    """Every instance in ``source``, or :class:`RegistrySourceError` listing every problem found."""
    problems: list[Problem] = []
    instances: list[SourceInstance] = []
    for owner in _folders(source, problems, files_ok=True):
        for model in _folders(owner, problems):
            for framework in _folders(model, problems):
                canonical = normalise_framework(framework.name)
                if canonical != framework.name:
                    near = canonical or closest_framework(framework.name)
                    hint = f"rename the folder to {near!r}" if near else "use a framework name such as pyTorch or keras"
                    problems.append(
                        Problem(str(framework), "", f"{framework.name!r} is not a framework spelling", hint)
                    )
                    continue
                for variation in _folders(framework, problems):
                    found = _scan_instance(variation, problems)
                    if found is not None:
                        instances.append(found)
    if not instances and not problems:
        problems.append(Problem(str(source), "", "holds no model instances", LAYOUT_HINT))
    if not problems:  # a broken instance would only make its fine-tunes' checks fail too
        problems.extend(_base_problems(instances))
    if problems:
        raise RegistrySourceError(problems)
    return instances


def _folders(
    parent: Path, problems: list[Problem], *, files_ok: bool = False, allowed: tuple[str, ...] = ()
) -> list[Path]:
    """Sub-folders of ``parent`` in name order; stray files are problems unless ``files_ok``."""
    found = []
    for entry in sorted(parent.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name in allowed:
            continue
        if entry.is_dir():
            found.append(entry)
        elif not files_ok:
            problems.append(Problem(str(entry), "", "is a file where a folder belongs", LAYOUT_HINT))
    return found


def _scan_instance(folder: Path, problems: list[Problem]) -> SourceInstance | None:
    owner, model, framework, variation = folder.parts[-4:]
    try:
        handle = Handle.parse(f"{owner}/{model}/{framework}/{variation}")
    except HandleError as exc:
        problems.append(Problem(str(folder), "", str(exc), exc.hint))
        return None
    meta = InstanceMeta()
    if (folder / _INSTANCE_FILE).is_file():
        meta = _read_meta(InstanceMeta, folder / _INSTANCE_FILE, problems) or meta
    versions = []
    for entry in _folders(folder, problems, allowed=(_INSTANCE_FILE,)):
        if not _VERSION_FOLDER.match(entry.name):
            problems.append(
                Problem(
                    str(entry),
                    "",
                    f"version folder {entry.name!r} is not a whole number from 1",
                    "name version folders 1, 2, 3, ... (no leading zeros)",
                )
            )
            continue
        version = _scan_version(entry, problems)
        if version is not None:
            versions.append(version)
    if not versions:
        if not any(p.file.startswith(str(folder)) for p in problems):
            problems.append(Problem(str(folder), "", f"{handle} has no version folders", LAYOUT_HINT))
        return None
    return SourceInstance(handle, meta, tuple(sorted(versions, key=lambda v: v.number)))


def _scan_version(folder: Path, problems: list[Problem]) -> SourceVersion | None:
    where = folder / _VERSION_FILE
    if not where.is_file():
        problems.append(
            Problem(
                str(where),
                "",
                "is missing",
                'add version.json, e.g. {"license": "Apache 2.0", "published": "2024-05-01T12:00:00Z"}',
            )
        )
        return None
    meta = _read_meta(VersionMetadata, where, problems)
    files = _version_files(folder, problems)
    if not files:
        problems.append(Problem(str(folder), "", "the version has no files besides version.json", "add its files"))
    if meta is None or not files:
        return None
    return SourceVersion(int(folder.name), meta, files, where)


def _version_files(folder: Path, problems: list[Problem]) -> tuple[SourceFile, ...]:
    files = []
    for top, dirs, names in os.walk(folder):
        here = Path(top)
        for d in sorted(dirs):
            if (here / d).is_symlink():
                problems.append(Problem(str(here / d), "", "is a symbolic link to a folder", "copy the folder in"))
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
        for file_name in sorted(names):
            relative = (here / file_name).relative_to(folder).as_posix()
            if relative == _VERSION_FILE:
                continue
            try:
                check_relative_path(relative)
            except ValueError as exc:
                problems.append(Problem(str(here / file_name), "", str(exc), "rename the file"))
                continue
            files.append(SourceFile(relative, here / file_name))
    return tuple(sorted(files, key=lambda f: f.path))


def _read_meta(model: type[_Meta], where: Path, problems: list[Problem]) -> _Meta | None:
    try:
        data = read_json_file(where, DOCUMENT_BOUNDS)
    except DocumentRefused as refused:
        hint = f"fix the file ({refused.hint})"
        problems.append(Problem(str(where), "", refused.message, hint, refused.line, refused.column))
        return None
    except OSError as exc:
        problems.append(Problem(str(where), "", f"cannot be read: {exc.strerror or exc}", "check its permissions"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for path, message in validation_problems(exc):
            key = path.removeprefix("$").removeprefix(".")
            problems.append(Problem(str(where), key, message, _meta_hint(model, key)))
        return None


def _meta_hint(model: type[BaseModel], key: str) -> str:
    if model is InstanceMeta:
        return 'instance.json holds {"title": "...", "description": "..."}'
    if key.startswith("base"):
        return 'write "base": {"handle": "owner/model/framework/variation", "versions": ">=2"}'
    if key.startswith("metrics"):
        return 'write "metrics": [{"dataset": "glue/sst2", "metric": "accuracy", "value": 0.91, "source": "https://…"}]'
    if key.startswith("training_data"):
        return 'write "training_data": ["https://…/dataset", "BookCorpus"]'
    if key.startswith("requires"):
        return 'write "requires": {"transformers": ">=4.30"}'
    if key == "published":
        return 'write "published": "2024-05-01T12:00:00Z"'
    if key == "license":
        return 'write "license": "Apache 2.0", or null when the model publishes none'
    return 'version.json holds "license", "published" and optionally "requires", "base", "metrics", "training_data"'


def _base_problems(instances: list[SourceInstance]) -> list[Problem]:
    """A fine-tune's base must be in the same registry, with a version its specifier admits."""
    problems = []
    for instance in instances:
        for version in instance.versions:
            base = version.meta.base
            if base is None:
                continue
            wanted = Handle.parse(base.handle)
            numbers = [
                v.number
                for other in instances
                if wanted.admits(other.handle) and other.handle != instance.handle
                for v in other.versions
            ]
            spec = SpecifierSet(base.versions)
            if wanted.admits(instance.handle):
                problems.append(Problem(str(version.where), "base.handle", "a model cannot be its own base", None))
            elif not numbers:
                problems.append(
                    Problem(
                        str(version.where),
                        "base.handle",
                        f"base {base.handle} is not in this registry's source",
                        "add the base model to the source, or correct the handle",
                    )
                )
            elif not any(spec.contains(str(n)) for n in numbers):
                problems.append(
                    Problem(
                        str(version.where),
                        "base.versions",
                        f"no version of {base.handle} matches {base.versions!r} (it has {sorted(set(numbers))})",
                        "loosen the specifier or add the base version",
                    )
                )
    return problems
