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
import secrets
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from kmenv.errors import RegistrySourceError, UsageError
from kmenv.fs.atomic import write_atomic
from kmenv.registry.static.build_source import LAYOUT_HINT, SourceInstance, scan_source
from kmenv.registry.static.documents import FORMAT, parse_index, parse_instance
from kmenv.values.candidates import format_size

__all__ = ["BuildReport", "RegistrySourceError", "build_registry"]

_OUTPUT_ENTRIES = frozenset({"index.json", "models", "files"})
_CHUNK = 1 << 20


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


def build_registry(source: Path, out: Path, *, name: str) -> BuildReport:
    """Build the registry ``name`` from ``source`` into ``out`` and return what was written.

    Raises :class:`RegistrySourceError` listing every problem in ``source``, and
    :class:`~kmenv.errors.UsageError` when ``out`` holds something other than a registry.
    """
    source, out = Path(source), Path(out)
    if not name.strip():
        raise UsageError("the registry needs a name", hint="pass --name, e.g. --name my-models")
    _check_places(source, out)
    instances = scan_source(source)
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
        raise UsageError(f"registry source {source} is not a folder", hint=LAYOUT_HINT)
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


# -- writing the registry -------------------------------------------------------------------


def _write_registry(root: Path, instances: list[SourceInstance], name: str) -> BuildReport:
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
