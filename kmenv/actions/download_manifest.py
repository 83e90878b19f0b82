"""The manifest ``kmenv download`` leaves in each folder it writes: what it put there, by size and digest.

``<folder>/.kmenv-download.json`` records the version's handle, the registry it came from and every
file placed (path, size, sha256, and any other digest the registry published), so ``kmenv validate
DIR`` can later prove the folder still holds exactly those bytes, on any machine, without the
registry or the store. The format is versioned (``format``); a reader refuses formats it does not
know rather than guess. Written atomically (:func:`kmenv.fs.atomic.write_atomic`): a reader sees
the old manifest or the new one, never half of one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from kmenv.errors import UsageError
from kmenv.fs.atomic import write_atomic
from kmenv.values.candidates import FileEntry
from kmenv.values.paths import relative_path_problem

__all__ = ["MANIFEST_FILE", "MANIFEST_FORMAT", "Manifest", "ManifestDocument", "read_manifest", "write_manifest"]

#: The manifest's file name inside a download folder (hidden, so it does not look like a model file).
MANIFEST_FILE = ".kmenv-download.json"
#: The manifest format this kmenv writes and reads.
MANIFEST_FORMAT = 1
_KIND = "kmenv-download"
_MAX_BYTES = 16 << 20  # a manifest of a million files is ~150 MiB; 16 MiB covers every real model version


@dataclass(frozen=True)
class Manifest:
    """What one download folder holds: the version's handle, its registry, and each file placed there."""

    handle: str
    registry: str
    files: tuple[FileEntry, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "kind": _KIND,
            "handle": self.handle,
            "registry": self.registry,
            "files": [
                {
                    "path": f.path,
                    "size": f.size,
                    "sha256": f.sha256,
                    **({"digests": dict(f.digests)} if f.digests else {}),
                }
                for f in sorted(self.files, key=lambda f: f.path)
            ],
        }

    def merged(self, files: Iterable[FileEntry]) -> Manifest:
        """This manifest with ``files`` added (a file of the same path is replaced): ``--file`` one, then another."""
        by_path = {f.path: f for f in self.files}
        by_path.update({f.path: f for f in files})
        return Manifest(self.handle, self.registry, tuple(by_path[p] for p in sorted(by_path)))


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``folder``'s manifest atomically, keeping files an earlier download of this version placed."""
    path = folder / MANIFEST_FILE
    if path.is_file():
        try:
            old = read_manifest(folder)
        except UsageError:
            old = None
        if old is not None and old.handle == manifest.handle:
            manifest = old.merged(manifest.files)
    write_atomic(path, json.dumps(manifest.to_dict(), indent=1, sort_keys=True) + "\n")
    return path


def read_manifest(folder: Path) -> Manifest:
    """The manifest in ``folder``; a one-line ``UsageError`` naming the file and the fault when it is unreadable."""
    path = folder / MANIFEST_FILE
    hint = "download the folder again with `kmenv download`, which rewrites its manifest"
    try:
        with open(path, "rb") as source:
            raw = source.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(
            f"{folder}: no {MANIFEST_FILE}", hint="only folders written by `kmenv download` can be validated"
        ) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})", hint=hint) from None
    if len(raw) > _MAX_BYTES:
        raise UsageError(f"{path}: larger than {_MAX_BYTES >> 20} MiB, not a kmenv manifest", hint=hint)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})", hint=hint) from None
    return _parse(data, path, hint)


class ManifestFile(BaseModel):
    """One file placed in the folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: StrictStr = Field(description="Path inside the folder, '/'-separated, relative and safe.")
    size: Annotated[StrictInt, Field(ge=0, description="Size in bytes.")]
    sha256: StrictStr = Field(description="Lower-case hex SHA-256 of the bytes.", pattern="^[0-9a-f]{64}$")
    digests: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Other digests the registry published, e.g. {'md5': '<base64>'}."
    )

    @field_validator("path")
    @classmethod
    def _safe(cls, value: str) -> str:
        problem = relative_path_problem(value)
        if problem is not None:
            raise ValueError(f"path {value!r}: {problem}")
        return value


class ManifestDocument(BaseModel):
    """``.kmenv-download.json``: what ``kmenv download`` placed in one version folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = Field(description="Manifest format; this kmenv reads format 1.")
    kind: Literal["kmenv-download"] = Field(description="Always 'kmenv-download'.")
    handle: StrictStr = Field(description="The version downloaded: owner/model/framework/variation/version.")
    registry: StrictStr = Field(description="The name of the registry it came from.")
    files: tuple[ManifestFile, ...] = Field(description="Every file placed in the folder, sorted by path.")


def _parse(data: object, path: Path, hint: str) -> Manifest:
    if not isinstance(data, dict) or data.get("kind") != _KIND:
        raise UsageError(f"{path}: not a kmenv download manifest", hint=hint)
    if data.get("format") != MANIFEST_FORMAT:
        raise UsageError(
            f"{path}: manifest format {data.get('format')!r}; this kmenv reads format {MANIFEST_FORMAT}",
            hint="upgrade kmenv to validate this folder",
        )
    try:
        document = ManifestDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise UsageError(f"{path}: ${where}: {first['msg']}", hint=hint) from None
    files = tuple(FileEntry(f.path, f.size, f.sha256, digests=dict(f.digests)) for f in document.files)
    return Manifest(document.handle, document.registry, files)
