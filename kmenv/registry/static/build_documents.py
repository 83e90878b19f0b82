"""The documents a registry build writes, made from the checked source; no I/O.

The writer copies each source file into the registry and learns its digest and size (a
:class:`StoredFile`); from those, this decides where every document and blob lives and what each document
says. ``index.json`` lists the instances sorted by handle, an instance document lists its versions newest
first, and a file's ``url`` is relative to its document, so the registry works from any folder or web
address. :func:`render_json` is the one spelling of a document's bytes: the same source always gives the
same registry, which is what lets a built registry be committed and reviewed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from kmenv.registry.static.build_source import SourceFile, SourceInstance
from kmenv.registry.static.documents import FORMAT, InstanceDocument, RegistryIndex, parse_index, parse_instance
from kmenv.values.handles import Handle

__all__ = ["StoredFile", "blob_path", "document_path", "instance_document", "registry_index", "render_json"]


@dataclass(frozen=True)
class StoredFile:
    """What copying one source file into the registry learned: its blob's digest and its size in bytes."""

    sha256: str
    size: int


def blob_path(digest: str) -> str:
    """Where the blob with this SHA-256 lives, relative to the registry's root."""
    return f"files/sha256/{digest[:2]}/{digest}"


def document_path(handle: Handle) -> str:
    """Where an instance's document lives, relative to the registry's root (and to ``index.json``)."""
    return f"models/{handle.owner}/{handle.model}/{handle.framework}/{handle.variation}.json"


def instance_document(
    instance: SourceInstance, stored: Mapping[SourceFile, StoredFile], where: str
) -> InstanceDocument:
    """The document of one instance; ``stored`` holds every file of its versions, ``where`` names it in errors."""
    up = "../" * document_path(instance.handle).count("/")
    records = []
    for version in sorted(instance.versions, key=lambda v: v.number, reverse=True):
        file_records = []
        for source_file in version.files:
            blob = stored[source_file]
            file_records.append(
                {
                    "path": source_file.path,
                    "size": blob.size,
                    "sha256": blob.sha256,
                    "url": f"{up}{blob_path(blob.sha256)}",
                }
            )
        meta = version.meta
        record: dict[str, object] = {
            "version": version.number,
            "license": meta.license,
            "requires": dict(sorted(meta.requires.items())),
            "base": meta.base.model_dump(mode="json") if meta.base else None,
            "published": meta.published,
            "files": file_records,
        }
        if meta.metrics:  # optional keys are written only when present: a version without them reads as before
            record["metrics"] = [m.model_dump(mode="json") for m in meta.metrics]
        if meta.training_data:
            record["training_data"] = list(meta.training_data)
        records.append(record)
    return parse_instance(
        {
            "format": FORMAT,
            "handle": str(instance.handle),
            "title": instance.meta.title,
            "description": instance.meta.description,
            "versions": records,
        },
        where,
    )


def registry_index(name: str, instances: Iterable[SourceInstance], where: str) -> RegistryIndex:
    """``index.json`` of the registry ``name``: every instance by handle, with its document and newest version."""
    entries = [
        {"handle": str(i.handle), "document": document_path(i.handle), "latest": i.versions[-1].number}
        for i in sorted(instances, key=lambda i: str(i.handle))
    ]
    return parse_index({"format": FORMAT, "name": name, "instances": entries}, where)


def render_json(document: BaseModel) -> str:
    """Sorted keys, 2-space indent, trailing newline: the same document always gives the same bytes."""
    data = document.model_dump(mode="json", exclude_unset=True)  # optional keys absent from the source stay absent
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
