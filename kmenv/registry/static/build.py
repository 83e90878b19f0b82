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

The steps have their own modules: :mod:`.build_source` reads and checks SOURCE (every problem at
once), :mod:`.build_documents` decides what the documents say (no I/O) and :mod:`.build_output`
puts the registry on disk. This module checks the two places, runs the steps and reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kmenv.errors import RegistrySourceError, UsageError
from kmenv.registry.static.build_output import is_previous_build, write_registry
from kmenv.registry.static.build_source import LAYOUT_HINT, scan_source
from kmenv.registry.static.documents import InstanceDocument
from kmenv.values.candidates import format_size
from kmenv.values.wording import counted

__all__ = ["BuildReport", "RegistrySourceError", "build_registry"]


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
            f"{counted(self.instances, 'instance')}, {counted(self.versions, 'version')}, "
            f"{counted(self.files, 'file')} "
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
    documents = write_registry(out, instances, name)
    return _report(out, name, documents)


def _report(out: Path, name: str, documents: Sequence[InstanceDocument]) -> BuildReport:
    files = [f for document in documents for version in document.versions for f in version.files]
    blobs = {f.sha256: f.size for f in files}
    versions = sum(len(document.versions) for document in documents)
    return BuildReport(
        out, name, len(documents), versions, len(files), len(blobs), sum(f.size for f in files), sum(blobs.values())
    )


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
    if dst.is_dir() and any(dst.iterdir()) and not is_previous_build(dst):
        raise UsageError(
            f"output {out} is not empty and does not hold a registry built by kmenv",
            hint="choose a new or empty folder, or delete this one first",
        )
