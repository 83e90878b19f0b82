"""``kmenv validate DIR``: check download folders against the manifests kmenv wrote in them.

Needs neither a project nor the registry nor the store: the manifest (:mod:`.download_manifest`)
records each file's size and sha256, and :func:`kmenv.actions.tree_check.check_tree` compares. ``DIR`` is one download
folder or any folder above several (``--path`` of ``kmenv download``); every manifest below it is
checked and every problem collected in one pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kmenv.actions.download_manifest import MANIFEST_FILE, read_manifest
from kmenv.actions.tree_check import Damage, check_tree
from kmenv.errors import UsageError

__all__ = ["FolderReport", "FolderValidation", "validate_folders"]

#: How deep below DIR manifests are looked for: ``--path`` + owner/model/framework/variation/version is 5.
_MAX_DEPTH = 8


@dataclass(frozen=True)
class FolderReport:
    """One download folder checked against its manifest: how many files and bytes it records, what differs."""

    folder: Path
    handle: str
    registry: str
    files: int
    bytes: int
    problems: tuple[Damage, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "handle": self.handle,
            "registry": self.registry,
            "ok": self.ok,
            "files": self.files,
            "bytes": self.bytes,
            "problems": [d.as_dict() for d in self.problems],
        }


@dataclass(frozen=True)
class FolderValidation:
    """Every download folder found under ``root``, each with its report."""

    root: Path
    folders: tuple[FolderReport, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.folders)

    def to_dict(self) -> dict[str, object]:
        return {"root": str(self.root), "ok": self.ok, "folders": [f.to_dict() for f in self.folders]}


def _manifest_folders(root: Path) -> list[Path]:
    """``root`` when it holds a manifest, else every folder below it (to ``_MAX_DEPTH``) that does, sorted."""
    if (root / MANIFEST_FILE).is_file():
        return [root]
    found = []
    base = len(root.parts)
    for top, dirs, files in os.walk(root):
        here = Path(top)
        if MANIFEST_FILE in files:
            found.append(here)
            dirs[:] = []  # a download folder holds model files, not further downloads
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if len(here.parts) - base < _MAX_DEPTH else []
    return sorted(found)


def _check(folder: Path, workers: int) -> FolderReport:
    manifest = read_manifest(folder)
    expected = {f.path: f for f in manifest.files}
    problems = check_tree(folder, expected, workers=workers, word="recorded", ignore=(MANIFEST_FILE,))
    total = sum(f.size for f in expected.values())
    return FolderReport(folder, manifest.handle, manifest.registry, len(expected), total, tuple(problems))


def validate_folders(root: Path, *, workers: int = 4) -> FolderValidation:
    """Check every download folder at or below ``root``; ``UsageError`` when ``root`` holds no manifest at all."""
    root = Path(root).expanduser().absolute()
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder", hint="pass a folder written by `kmenv download`")
    folders = _manifest_folders(root)
    if not folders:
        raise UsageError(
            f"no {MANIFEST_FILE} in {root} or below it",
            hint="`kmenv validate DIR` checks folders written by `kmenv download`; "
            "inside a project, `kmenv validate` checks the environment",
        )
    return FolderValidation(root, tuple(_check(f, workers) for f in folders))
