"""Build a static registry from a folder of model files (``kmenv registry build SOURCE OUT``).

Source layout, one folder per handle part and one per version::

    SOURCE/<owner>/<model>/<framework>/<variation>/instance.json          optional: {"title", "description"}
    SOURCE/<owner>/<model>/<framework>/<variation>/<version>/version.json {"license", "requires", "base", "published"}
    SOURCE/<owner>/<model>/<framework>/<variation>/<version>/<files...>   the version's files, at any depth

``<framework>`` is spelled as in handles (``pyTorch``, ``scikitLearn``); ``<version>`` is a whole
number from 1. In ``version.json``, ``license`` (the display string, or null) and ``published``
(``"2024-05-01T12:00:00Z"``) are required; ``requires`` (``{"transformers": ">=4.30"}``, libraries
beyond what the framework implies, ``python`` allowed) and ``base`` (``{"handle": "owner/model/
framework/variation", "versions": ">=2"}``, for a fine-tune; it must be in the same source) are
optional. Names starting with ``.`` and plain files at the top of SOURCE are ignored.

Output layout::

    OUT/index.json                                            the instances, sorted by handle
    OUT/models/<owner>/<model>/<framework>/<variation>.json   one document per instance, versions newest first
    OUT/files/sha256/<aa>/<digest>                            file bytes, stored once however often they recur

Building is deterministic (same source, same bytes) so a registry can be committed and reviewed.
The new registry is assembled in a hidden folder beside OUT and swapped in at the end, so a
failed build leaves the previous one untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from packaging.specifiers import SpecifierSet
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from kmenv.errors import HandleError, Problem, RegistrySourceError, UsageError
from kmenv.fs.atomic import write_atomic
from kmenv.registry.static.documents import (
    FORMAT,
    VersionMetadata,
    check_relative_path,
    parse_index,
    parse_instance,
    validation_problems,
)
from kmenv.values.candidates import format_size
from kmenv.values.handles import Handle, closest_framework, normalise_framework

__all__ = ["BuildReport", "RegistrySourceError", "build_registry"]

_VERSION_FOLDER = re.compile(r"^[1-9][0-9]*$")
_INSTANCE_FILE = "instance.json"
_VERSION_FILE = "version.json"
_OUTPUT_ENTRIES = frozenset({"index.json", "models", "files"})
_CHUNK = 1 << 20
_LAYOUT_HINT = "lay files out as SOURCE/<owner>/<model>/<framework>/<variation>/<version>/<files>"


@dataclass(frozen=True)
class BuildReport:
    """What a build wrote.

    ``files`` counts every file of every version; ``blobs`` the distinct contents stored.
    ``total_bytes`` is the size of all versions' files together, ``stored_bytes`` what the
    registry holds after identical files were stored once.
    """

    out: Path
    name: str
    instances: int
    versions: int
    files: int
    blobs: int
    total_bytes: int
    stored_bytes: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form for ``--json``."""
        return {
            "out": str(self.out),
            "name": self.name,
            "instances": self.instances,
            "versions": self.versions,
            "files": self.files,
            "blobs": self.blobs,
            "total_bytes": self.total_bytes,
            "stored_bytes": self.stored_bytes,
        }

    def __str__(self) -> str:
        return (
            f"{self.instances} instances, {self.versions} versions, {self.files} files "
            f"({format_size(self.total_bytes)}; {format_size(self.stored_bytes)} stored once each)"
        )


class _InstanceMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: StrictStr | None = None
    description: StrictStr | None = None


_Meta = TypeVar("_Meta", bound=BaseModel)


@dataclass(frozen=True)
class _SourceFile:
    path: str
    location: Path


@dataclass(frozen=True)
class _SourceVersion:
    number: int
    meta: VersionMetadata
    files: tuple[_SourceFile, ...]
    where: Path


@dataclass(frozen=True)
class _SourceInstance:
    handle: Handle
    meta: _InstanceMeta
    versions: tuple[_SourceVersion, ...]


def build_registry(source: Path, out: Path, *, name: str) -> BuildReport:
    """Build the registry ``name`` from ``source`` into ``out`` and return what was written.

    Raises :class:`RegistrySourceError` listing every problem in ``source``, and
    :class:`~kmenv.errors.UsageError` when ``out`` holds something other than a registry.
    """
    source, out = Path(source), Path(out)
    if not name.strip():
        raise UsageError("the registry needs a name", hint="pass --name, e.g. --name my-models")
    _check_places(source, out)
    instances = _scan_source(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = _fresh_sibling(out, "build")
    try:
        report = _write_registry(staging, instances, name)
        _swap_into_place(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return replace(report, out=out)


# -- checking the places --------------------------------------------------------------------


def _check_places(source: Path, out: Path) -> None:
    if not source.is_dir():
        raise UsageError(f"registry source {source} is not a folder", hint=_LAYOUT_HINT)
    src, dst = source.resolve(), out.resolve()
    if src == dst or src in dst.parents or dst in src.parents:
        raise UsageError(
            f"the output {out} and the source {source} overlap",
            hint="write the registry to a folder outside the source, e.g. beside it",
        )
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"output {out} is a file", hint="name a folder for the registry")
    if dst.is_dir() and any(dst.iterdir()) and not _is_previous_build(dst):
        raise UsageError(
            f"output {out} is not empty and does not hold a registry built by kmenv",
            hint="choose a new or empty folder, or delete this one first",
        )


def _is_previous_build(folder: Path) -> bool:
    entries = {p.name for p in folder.iterdir()}
    if "index.json" not in entries or not entries <= _OUTPUT_ENTRIES:
        return False
    try:
        parse_index(json.loads((folder / "index.json").read_bytes()), str(folder / "index.json"))
    except (ValueError, OSError):
        return False
    return True


# -- reading the source ---------------------------------------------------------------------


def _scan_source(source: Path) -> list[_SourceInstance]:
    problems: list[Problem] = []
    instances: list[_SourceInstance] = []
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
        problems.append(Problem(str(source), "", "holds no model instances", _LAYOUT_HINT))
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
            problems.append(Problem(str(entry), "", "is a file where a folder belongs", _LAYOUT_HINT))
    return found


def _scan_instance(folder: Path, problems: list[Problem]) -> _SourceInstance | None:
    owner, model, framework, variation = folder.parts[-4:]
    try:
        handle = Handle.parse(f"{owner}/{model}/{framework}/{variation}")
    except HandleError as exc:
        problems.append(Problem(str(folder), "", str(exc), exc.hint))
        return None
    meta = _InstanceMeta()
    if (folder / _INSTANCE_FILE).is_file():
        meta = _read_meta(_InstanceMeta, folder / _INSTANCE_FILE, problems) or meta
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
            problems.append(Problem(str(folder), "", f"{handle} has no version folders", _LAYOUT_HINT))
        return None
    return _SourceInstance(handle, meta, tuple(sorted(versions, key=lambda v: v.number)))


def _scan_version(folder: Path, problems: list[Problem]) -> _SourceVersion | None:
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
    return _SourceVersion(int(folder.name), meta, files, where)


def _version_files(folder: Path, problems: list[Problem]) -> tuple[_SourceFile, ...]:
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
            files.append(_SourceFile(relative, here / file_name))
    return tuple(sorted(files, key=lambda f: f.path))


def _read_meta(model: type[_Meta], where: Path, problems: list[Problem]) -> _Meta | None:
    try:
        data = json.loads(where.read_bytes())
    except json.JSONDecodeError as exc:
        problems.append(Problem(str(where), "", f"is not valid JSON: {exc.msg}", "fix the JSON", exc.lineno, exc.colno))
        return None
    except (UnicodeDecodeError, OSError) as exc:
        problems.append(Problem(str(where), "", f"cannot be read: {exc}", "save it as UTF-8 JSON"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for path, message in validation_problems(exc):
            key = path.removeprefix("$").removeprefix(".")
            problems.append(Problem(str(where), key, message, _meta_hint(model, key)))
        return None


def _meta_hint(model: type[BaseModel], key: str) -> str:
    if model is _InstanceMeta:
        return 'instance.json holds {"title": "...", "description": "..."}'
    if key.startswith("base"):
        return 'write "base": {"handle": "owner/model/framework/variation", "versions": ">=2"}'
    if key.startswith("requires"):
        return 'write "requires": {"transformers": ">=4.30"}'
    if key == "published":
        return 'write "published": "2024-05-01T12:00:00Z"'
    if key == "license":
        return 'write "license": "Apache 2.0", or null when the model publishes none'
    return 'version.json holds "license", "published" and optionally "requires" and "base"'


def _base_problems(instances: list[_SourceInstance]) -> list[Problem]:
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


# -- writing the registry -------------------------------------------------------------------


def _write_registry(root: Path, instances: list[_SourceInstance], name: str) -> BuildReport:
    incoming = root / "files" / ".incoming"
    incoming.mkdir(parents=True)
    blobs: dict[str, int] = {}
    entries = []
    versions = files = total = 0
    for instance in sorted(instances, key=lambda i: str(i.handle)):
        h = instance.handle
        document_path = f"models/{h.owner}/{h.model}/{h.framework}/{h.variation}.json"
        up = "../" * document_path.count("/")
        records = []
        for version in sorted(instance.versions, key=lambda v: v.number, reverse=True):
            file_records = []
            for source_file in version.files:
                digest, size = _store(source_file.location, root, incoming, len(blobs))
                blobs[digest] = size
                file_records.append(
                    {"path": source_file.path, "size": size, "sha256": digest, "url": f"{up}{_blob_path(digest)}"}
                )
                files += 1
                total += size
            meta = version.meta
            records.append(
                {
                    "version": version.number,
                    "license": meta.license,
                    "requires": dict(sorted(meta.requires.items())),
                    "base": meta.base.model_dump(mode="json") if meta.base else None,
                    "published": meta.published,
                    "files": file_records,
                }
            )
            versions += 1
        document = parse_instance(
            {
                "format": FORMAT,
                "handle": str(h),
                "title": instance.meta.title,
                "description": instance.meta.description,
                "versions": records,
            },
            str(root / document_path),
        )
        _write_json(root / document_path, document.model_dump(mode="json"))
        entries.append({"handle": str(h), "document": document_path, "latest": instance.versions[-1].number})
    index = parse_index({"format": FORMAT, "name": name, "instances": entries}, str(root / "index.json"))
    _write_json(root / "index.json", index.model_dump(mode="json"))
    incoming.rmdir()
    return BuildReport(root, name, len(entries), versions, files, len(blobs), total, sum(blobs.values()))


def _blob_path(digest: str) -> str:
    return f"files/sha256/{digest[:2]}/{digest}"


def _store(location: Path, root: Path, incoming: Path, serial: int) -> tuple[str, int]:
    """Copy one file into the registry while hashing it; identical contents are kept once."""
    part = incoming / str(serial)
    hasher = hashlib.sha256()
    size = 0
    try:
        with location.open("rb") as src, part.open("xb") as dst:
            while chunk := src.read(_CHUNK):
                hasher.update(chunk)
                dst.write(chunk)
                size += len(chunk)
    except OSError as exc:
        part.unlink(missing_ok=True)
        if exc.filename is not None and Path(exc.filename) == location:
            raise UsageError(f"cannot read {location}: {exc.strerror}", hint="check the file's permissions") from None
        raise
    digest = hasher.hexdigest()
    target = root / _blob_path(digest)
    if target.exists():
        part.unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    return digest, size


def _write_json(path: Path, data: object) -> None:
    """Sorted keys, 2-space indent, trailing newline: the same input always gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n")


def _fresh_sibling(out: Path, kind: str) -> Path:
    """A new hidden folder beside ``out`` (same filesystem, so the final rename is atomic)."""
    while True:
        candidate = out.parent / f".{out.name}.{kind}-{secrets.token_hex(4)}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old)
