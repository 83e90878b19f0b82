"""A static registry folder as a mirror target: blobs added by digest, documents merged, the index written last.

Unlike ``kmenv registry build``, which rebuilds a whole registry from a source tree, a mirror grows: each
run adds the versions it is given and keeps every instance and version already there, so several projects
(or several runs of one) can fill the same folder. A blob already present with the right size is not
written again, so a second run writes no bytes. Blobs are hard-linked from the store when the folder is on
the same filesystem and copied (to a temporary name, flushed, then renamed) otherwise. Documents are
replaced atomically and the index is written last, so a reader sees either the old registry or the new one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kmenv.errors import IntegrityError, RegistryDocumentError
from kmenv.fs.atomic import write_atomic
from kmenv.registry.static.build_documents import blob_path, document_path, render_json
from kmenv.registry.static.documents import FORMAT, InstanceDocument, parse_index, parse_instance
from kmenv.values.handles import Handle

__all__ = ["FolderMirror", "MirroredFile", "MirroredVersion"]

_MAX_DOCUMENT = 64 << 20  # a mirror's own documents; far above what thousands of versions need


@dataclass(frozen=True)
class MirroredFile:
    """One file of a mirrored version: its path in the version and its blob."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class MirroredVersion:
    """What the mirror records of one version: the metadata a resolver reads, and its files."""

    version: int
    license: str | None
    requires: dict[str, str]
    base: tuple[str, str] | None  # (handle, version range)
    published: str
    files: tuple[MirroredFile, ...]
    spdx: str | None = None  # the licence as an SPDX expression, for targets that record one (OCI's config)
    source: str | None = None  # where the version came from (``registry:owner/model/framework/variation/3``)


class FolderMirror:
    """Writes into the static registry folder ``root`` named ``name`` (see the module docstring)."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name

    def __str__(self) -> str:
        return str(self.root)

    def has_blob(self, instance: Handle, sha256: str, size: int) -> bool:
        """Whether the folder holds the blob (one blob folder serves every instance)."""
        try:
            return (self.root / blob_path(sha256)).stat().st_size == size
        except OSError:
            return False

    def put_blob(
        self, instance: Handle, sha256: str, size: int, source: Path, on_bytes: Callable[[int], None] | None = None
    ) -> int:
        """Add the blob at ``source`` (already verified); returns the bytes written (0 when hard-linked).

        ``on_bytes`` hears the blob's size once it is in place (linked or copied), for progress.
        """
        target = self.root / blob_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{sha256}.{os.getpid()}.partial")
        partial.unlink(missing_ok=True)
        try:
            os.link(source, partial)
            written = 0
        except OSError:
            with source.open("rb") as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            written = size
        if partial.stat().st_size != size:
            partial.unlink(missing_ok=True)
            raise IntegrityError(
                f"{source} is not the {size} bytes its digest was recorded with",
                hint="run `kmenv cache verify` to find and drop damaged blobs, then mirror again",
            )
        os.replace(partial, target)
        if on_bytes is not None:
            on_bytes(size)
        return written

    def put_instance(self, handle: Handle, title: str | None, versions: Sequence[MirroredVersion]) -> None:
        """Record ``versions`` of ``handle``, keeping the versions the mirror already holds."""
        where = self.root / document_path(handle)
        known = {v.version: v for v in self._read_instance(where, handle).versions} if where.exists() else {}
        up = "../" * document_path(handle).count("/")
        for version in versions:
            record = _record(version, up)
            held = known.get(version.version)
            if held is not None and _files_of(held.model_dump(mode="json")) != _files_of(record):
                raise IntegrityError(
                    f"{where}: the mirror already holds version {version.version} of {handle} with other files",
                    hint="a published version changed upstream; mirror into a fresh folder, or delete that "
                    "version's entry from the document first",
                )
            known[version.version] = parse_instance(
                {"format": FORMAT, "handle": str(handle), "versions": [record]}, str(where)
            ).versions[0]
        document = parse_instance(
            {
                "format": FORMAT,
                "handle": str(handle),
                "title": title,
                "versions": [v.model_dump(mode="json") for _, v in sorted(known.items(), reverse=True)],
            },
            str(where),
        )
        where.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(where, render_json(document))

    def finish(self) -> None:
        """Write ``index.json`` over every instance document in the folder (after all of them are in place)."""
        entries = []
        models = self.root / "models"
        for path in sorted(models.glob("*/*/*/*.json")) if models.is_dir() else ():
            rel = path.relative_to(self.root).as_posix()
            handle = Handle.parse(rel.removeprefix("models/").removesuffix(".json"))
            document = self._read_instance(path, handle)
            entries.append({"handle": document.handle, "document": rel, "latest": document.versions[0].version})
        entries.sort(key=lambda e: str(e["handle"]))
        index = parse_index({"format": FORMAT, "name": self.name, "instances": entries}, str(self.root / "index.json"))
        write_atomic(self.root / "index.json", render_json(index))

    def _read_instance(self, where: Path, handle: Handle) -> InstanceDocument:
        try:
            if where.stat().st_size > _MAX_DOCUMENT:
                raise RegistryDocumentError(
                    f"{where}: larger than {_MAX_DOCUMENT >> 20} MiB", hint="this is not a document kmenv wrote"
                )
            data = json.loads(where.read_bytes())
        except ValueError as exc:
            raise RegistryDocumentError(
                f"{where}: not JSON ({exc})", hint="delete the file and mirror again to rewrite it"
            ) from None
        document = parse_instance(data, str(where))
        if document.handle != str(handle):
            raise RegistryDocumentError(
                f"{where}: describes {document.handle}, not {handle}", hint="delete the file and mirror again"
            )
        return document


def _record(version: MirroredVersion, up: str) -> dict[str, object]:
    return {
        "version": version.version,
        "license": version.license,
        "requires": dict(sorted(version.requires.items())),
        "base": {"handle": version.base[0], "versions": version.base[1]} if version.base else None,
        "published": version.published,
        "files": [
            {"path": f.path, "size": f.size, "sha256": f.sha256, "url": f"{up}{blob_path(f.sha256)}"}
            for f in sorted(version.files, key=lambda f: f.path)
        ],
    }


def _files_of(record: dict[str, object]) -> list[tuple[object, object, object]]:
    files = record["files"]
    assert isinstance(files, list)
    return sorted((f["path"], f["size"], f["sha256"]) for f in files)
