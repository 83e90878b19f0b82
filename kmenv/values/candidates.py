"""Candidates: one concrete model version with the metadata resolution and installation need.

Plain frozen values shared by the registries (which produce them), the resolver (which
chooses among them), the lock (which records them) and the installer (which fetches their
files). No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kmenv.values.handles import Handle

__all__ = ["BaseModelRef", "Candidate", "FileEntry", "format_size"]


@dataclass(frozen=True)
class FileEntry:
    """One file of a model version.

    ``path`` is relative to the version root, with ``/`` separators. ``sha256`` is the
    lower-case hex digest the store addresses the blob by. ``digests`` holds any other digest
    the source publishes (``{"md5": "<b64>"}`` for Kaggle) so downloads can be checked
    against it in the same pass. ``url`` is where the registry says the bytes live (may be
    relative to the registry; never a signed URL in a lock).
    """

    path: str
    size: int
    sha256: str
    url: str | None = None
    digests: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BaseModelRef:
    """A fine-tune's dependency on its base model.

    ``handle`` may be partial; ``versions`` is a PEP 440 specifier string over integer
    versions (empty string admits every version).
    """

    handle: Handle
    versions: str = ""
    registry: str | None = None

    def __str__(self) -> str:
        return f"{self.handle}{self.versions}" if self.versions else str(self.handle)


@dataclass(frozen=True)
class Candidate:
    """One version of one model instance, as a registry describes it.

    ``handle`` is full and versioned. ``license`` is the licence string as the source
    publishes it (``None`` when it publishes none). ``requires`` maps a library name (or
    ``python``) to a PEP 440 specifier string; it already includes what the framework
    implies. ``files`` are sorted by path.
    """

    handle: Handle
    registry: str
    license: str | None
    requires: Mapping[str, str] = field(default_factory=dict)
    base: BaseModelRef | None = None
    files: tuple[FileEntry, ...] = ()
    title: str | None = None
    published: str | None = None

    @property
    def version(self) -> int:
        assert self.handle.version is not None, "a candidate's handle is always versioned"
        return self.handle.version

    @property
    def framework(self) -> str:
        assert self.handle.framework is not None, "a candidate's handle is always full"
        return self.handle.framework

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def __str__(self) -> str:
        return str(self.handle)


def format_size(n: int) -> str:
    """Human size with binary units: ``1.5 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
