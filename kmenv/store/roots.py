"""GC roots: the cache's record of every environment on the machine and the blobs its generations use.

The store cannot see which projects hard-link its blobs, so the installer writes one small file
per environment, ``<cache>/roots/<sha256 of the environment path>.json``, after building a
generation. ``kmenv gc`` protects every blob a kept generation of a live environment lists, and
drops the roots of environments that no longer exist.

``kmenv download`` writes folders outside any environment from the same blobs, so it records one
file per download folder, ``<cache>/roots/downloads/<sha256 of the folder path>.json``, naming the
files it placed and their sha256. gc protects those blobs while the folder exists and drops the
record once it is gone. Standard library only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kmenv.fs.atomic import write_atomic
from kmenv.fs.bounded import read_json_file
from kmenv.values.documents import JsonBounds
from kmenv.values.sha256 import sha256_hex

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (every install records a root)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ROOT_FORMAT",
    "DownloadRoot",
    "Root",
    "download_root_file",
    "forget_generations",
    "read_download_roots",
    "read_roots",
    "record_download",
    "record_generation",
    "root_file",
]

ROOT_FORMAT = 1


#: How a GC root is bounded when read: one entry per file of every generation kept, far below this.
_ROOT_BOUNDS = JsonBounds(64 * 1024 * 1024)


@dataclass(frozen=True)
class Root:
    """One environment as the cache knows it.

    ``file``: the root file; ``environment``: the absolute ``.kmenv`` path (as recorded, symlinks
    not resolved); ``generations``: generation number → ``{sha256: "model/path"}`` of its files;
    ``updated``: UNIX time of the last install that wrote it; ``damaged``: the file could not be
    read (gc then deletes no blob at all, since it cannot know what this environment needs); ``keep``: how many
    generations its project keeps (``cleanup.keep-generations`` or ``KMENV_KEEP_GENERATIONS`` when it installed),
    which ``kmenv gc`` honours unless told otherwise.
    """

    file: Path
    environment: Path
    generations: Mapping[int, Mapping[str, str]]
    updated: float
    damaged: bool = False
    keep: int | None = None

    def blobs(self, generations: Iterable[int] | None = None) -> set[str]:
        """The sha256 of every blob the given generations (default: all recorded) use."""
        wanted = self.generations.keys() if generations is None else generations
        return {sha for n in wanted for sha in self.generations.get(n, {})}


def root_file(cache: Path, environment: Path) -> Path:
    """Where the root of ``environment`` lives in ``cache``."""
    key = sha256_hex(str(Path(environment).absolute()).encode("utf-8"))
    return Path(cache) / "roots" / f"{key}.json"


def _load(file: Path) -> Root:
    try:
        data: Any = read_json_file(file, _ROOT_BOUNDS)  # its shape is checked by using it
        generations = {
            int(n): {str(sha): str(label) for sha, label in files.items()} for n, files in data["generations"].items()
        }
        keep = data.get("keep")
        keep = keep if isinstance(keep, int) and not isinstance(keep, bool) and keep >= 1 else None
        return Root(file, Path(data["environment"]), generations, float(data.get("updated", 0.0)), keep=keep)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Root(file, Path(), {}, 0.0, damaged=True)


def _save(root: Root) -> None:
    data = {
        "format": ROOT_FORMAT,
        "environment": str(root.environment),
        "updated": root.updated,
        "generations": {str(n): dict(sorted(files.items())) for n, files in sorted(root.generations.items())},
    }
    if root.keep is not None:
        data["keep"] = root.keep
    root.file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(root.file, json.dumps(data, indent=1, sort_keys=True) + "\n")  # gc trusts it: durable


def read_roots(cache: Path) -> list[Root]:
    """Every root in the cache, sorted by environment path (damaged ones included, flagged)."""
    folder = Path(cache) / "roots"
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except FileNotFoundError:
        return []
    return sorted((_load(f) for f in files), key=lambda r: (str(r.environment), str(r.file)))


def record_generation(
    cache: Path,
    environment: Path,
    generation: int,
    files: Mapping[str, str],
    *,
    existing: Iterable[int],
    keep: int | None = None,
) -> None:
    """Add ``generation`` (``{sha256: "model/path"}``) to the root; forget generations not in ``existing``.

    ``keep`` is the number of generations the project keeps, recorded for ``kmenv gc``.

    Called with the environment lock held, so one writer per root at a time; the write is atomic.
    """
    environment = Path(environment).absolute()
    file = root_file(cache, environment)
    old = _load(file) if file.exists() else None
    present = set(existing) | {generation}
    generations = {n: g for n, g in (old.generations.items() if old and not old.damaged else []) if n in present}
    generations[generation] = dict(files)
    _save(Root(file, environment, generations, time.time(), keep=keep))


def forget_generations(root: Root, generations: Iterable[int]) -> None:
    """Rewrite ``root`` without ``generations`` (after gc deleted them); its timestamp is kept."""
    gone = set(generations)
    current = _load(root.file) if root.file.exists() else root
    if current.damaged:
        return
    kept = {n: g for n, g in current.generations.items() if n not in gone}
    _save(Root(current.file, current.environment, kept, current.updated, keep=current.keep))


@dataclass(frozen=True)
class DownloadRoot:
    """One folder ``kmenv download`` wrote, as the cache knows it.

    ``file``: the root file; ``folder``: the absolute folder path (as recorded); ``files``: the path
    of each file placed there (relative, ``/``-separated) → its sha256; ``updated``: UNIX time of the
    last download into it; ``damaged``: the file could not be read (gc then deletes no blob).
    """

    file: Path
    folder: Path
    files: Mapping[str, str]
    updated: float
    damaged: bool = False

    def blobs(self) -> set[str]:
        """The sha256 of every blob the folder's files were copied from."""
        return set(self.files.values())


def download_root_file(cache: Path, folder: Path) -> Path:
    """Where the root of the download folder ``folder`` lives in ``cache``."""
    key = sha256_hex(str(Path(folder).absolute()).encode("utf-8"))
    return Path(cache) / "roots" / "downloads" / f"{key}.json"


def _load_download(file: Path) -> DownloadRoot:
    try:
        data: Any = read_json_file(file, _ROOT_BOUNDS)  # its shape is checked by using it
        files = {str(path): str(sha) for path, sha in data["files"].items()}
        return DownloadRoot(file, Path(data["folder"]), files, float(data.get("updated", 0.0)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return DownloadRoot(file, Path(), {}, 0.0, damaged=True)


def record_download(cache: Path, folder: Path, files: Mapping[str, str]) -> None:
    """Record that ``folder`` holds ``files`` (``{"path/in/folder": sha256}``), added to what it held before.

    Earlier downloads into the same folder (``--file`` one file, then another) stay recorded; the write
    is atomic.
    """
    folder = Path(folder).absolute()
    file = download_root_file(cache, folder)
    old = _load_download(file) if file.exists() else None
    merged = dict(old.files) if old is not None and not old.damaged else {}
    merged.update(files)
    data = {"format": ROOT_FORMAT, "folder": str(folder), "updated": time.time(), "files": dict(sorted(merged.items()))}
    file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(file, json.dumps(data, indent=1, sort_keys=True) + "\n")  # gc trusts it: durable


def read_download_roots(cache: Path) -> list[DownloadRoot]:
    """Every download root in the cache, sorted by folder path (damaged ones included, flagged)."""
    folder = Path(cache) / "roots" / "downloads"
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except FileNotFoundError:
        return []
    return sorted((_load_download(f) for f in files), key=lambda r: (str(r.folder), str(r.file)))
