"""Write a built registry folder: every file's bytes stored once by digest, every document atomically.

:func:`write_registry` assembles the whole registry in a fresh hidden folder beside ``out`` (the same
filesystem, so renames are atomic) and only then swaps it in, so a build that fails halfway leaves the
previous registry as it was. Each file is hashed while it is copied, so a large model is read once.
What the documents say is decided by :mod:`.build_documents`; this module only puts bytes on disk.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from kmenv.errors import UsageError
from kmenv.fs.atomic import write_atomic
from kmenv.fs.bounded import read_json_file
from kmenv.registry.static.build_documents import (
    StoredFile,
    blob_path,
    document_path,
    instance_document,
    registry_index,
    render_json,
)
from kmenv.registry.static.build_source import SourceFile, SourceInstance
from kmenv.registry.static.documents import DOCUMENT_BOUNDS, InstanceDocument, parse_index

__all__ = ["is_previous_build", "write_registry"]

_OUTPUT_ENTRIES = frozenset({"index.json", "models", "files"})
_CHUNK = 1 << 20


def write_registry(out: Path, instances: Sequence[SourceInstance], name: str) -> list[InstanceDocument]:
    """Write the registry ``name`` of ``instances`` to ``out``, replacing what was there; the documents, by handle."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = _fresh_sibling(out, "build")
    try:
        documents = _write_into(staging, instances, name)
        _swap_into_place(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return documents


def is_previous_build(folder: Path) -> bool:
    """Whether ``folder`` holds only what a build writes, with a readable ``index.json``."""
    entries = {p.name for p in folder.iterdir()}
    if "index.json" not in entries or not entries <= _OUTPUT_ENTRIES:
        return False
    try:
        parse_index(read_json_file(folder / "index.json", DOCUMENT_BOUNDS), str(folder / "index.json"))
    except (ValueError, OSError):
        return False
    return True


def _write_into(root: Path, instances: Sequence[SourceInstance], name: str) -> list[InstanceDocument]:
    """Store every file's bytes once and write every document under ``root``; returns the documents by handle."""
    incoming = root / "files" / ".incoming"
    incoming.mkdir(parents=True)
    stored: dict[SourceFile, StoredFile] = {}
    documents = []
    for instance in sorted(instances, key=lambda i: str(i.handle)):
        for version in sorted(instance.versions, key=lambda v: v.number, reverse=True):
            for source_file in version.files:
                stored[source_file] = _store(source_file.location, root, incoming, len(stored))
        where = root / document_path(instance.handle)
        document = instance_document(instance, stored, str(where))
        _write_json(where, document)
        documents.append(document)
    _write_json(root / "index.json", registry_index(name, instances, str(root / "index.json")))
    incoming.rmdir()
    return documents


def _store(location: Path, root: Path, incoming: Path, serial: int) -> StoredFile:
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
    target = root / blob_path(digest)
    if target.exists():
        part.unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    return StoredFile(digest, size)


def _write_json(path: Path, document: BaseModel) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render_json(document))


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
