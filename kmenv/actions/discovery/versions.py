"""``kmenv versions``: an instance's versions (files, licence, requirements, training data, metrics), or a diff.

The version list is the registry's :meth:`~kmenv.registry.base.Registry.describe_versions`; a diff
compares two versions' file lists by the strongest digest both sides know (sha256, then md5), else
by size, and says which. Nothing here fetches a file's bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kmenv.actions.discovery.handles import full_handle
from kmenv.actions.discovery.sources import first_that_has
from kmenv.errors import ModelNotFoundError
from kmenv.values.discovery import ListedFile, Metric, VersionSummary
from kmenv.values.handles import Handle
from kmenv.values.times import utc_timestamp

if TYPE_CHECKING:
    from kmenv.registry.base import Registry

__all__ = [
    "COMPARISONS",
    "FileComparison",
    "VersionDiff",
    "VersionFiles",
    "VersionList",
    "compare_file",
    "diff_versions",
    "list_version_files",
    "list_versions",
    "metric_columns",
    "version_row",
]


def version_row(row: VersionSummary) -> dict[str, Any]:
    """One version as ``versions --json`` gives it."""
    return {
        "version": row.version,
        "latest": row.latest,
        "files": row.files,
        "size": row.size,
        "license": row.license,
        "license_observed": row.license_observed,
        "published": utc_timestamp(row.published),
        "requires": dict(row.requires),
        "training_data": list(row.training_data),
        "metrics": [m.as_dict() for m in row.metrics],
    }


def metric_columns(rows: Sequence[Sequence[Metric]]) -> list[str]:
    """Every ``metric@dataset`` the rows carry, in order of first appearance: one column each."""
    return list(dict.fromkeys(m.column for metrics in rows for m in metrics))


@dataclass(frozen=True)
class VersionList:
    """Every version of ``handle`` in ``registry``, newest first; ``metrics_note`` when it publishes none."""

    handle: Handle
    registry: str
    rows: tuple[VersionSummary, ...]
    metrics_note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "handle": str(self.handle),
            "registry": self.registry,
            "versions": [version_row(r) for r in self.rows],
            "metrics": metric_columns([r.metrics for r in self.rows]),
            "metrics_note": self.metrics_note or None,
        }


def list_versions(registries: Sequence[Registry], text: str) -> VersionList:
    """Every version of a full handle, newest first, from the first registry that has it."""
    handle = full_handle(text).unversioned()
    registry, rows = first_that_has(registries, lambda r: tuple(r.describe_versions(handle)))
    return VersionList(handle, registry.name, rows, registry.metrics_note())


@dataclass(frozen=True)
class VersionFiles:
    """One version's files as its registry lists them (path order), with the digests known on this machine."""

    handle: Handle  # versioned
    registry: str
    latest: bool
    files: tuple[ListedFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {
            "handle": str(self.handle),
            "registry": self.registry,
            "version": self.handle.version,
            "latest": self.latest,
            "files": [{"path": f.path, "size": f.size, "digests": dict(f.digests)} for f in self.files],
            "count": len(self.files),
            "size": self.size,
        }


def list_version_files(registries: Sequence[Registry], text: str) -> VersionFiles:
    """The files of the version a full handle names (its latest when it names none), checked to exist first."""
    handle = full_handle(text)

    def files(registry: Registry) -> VersionFiles:
        row = registry.describe_version(handle)
        version = handle.unversioned().with_version(row.version)
        listed = sorted(registry.version_files(version), key=lambda f: f.path)
        return VersionFiles(version, registry.name, row.latest, tuple(listed))

    return first_that_has(registries, files)[1]


#: How two files of the same path were compared, strongest first.
COMPARISONS = ("sha256", "md5", "size")


@dataclass(frozen=True)
class FileComparison:
    """One path both versions have: its sizes, whether its content differs, and by what that was judged.

    ``compared`` is ``"sha256"`` or ``"md5"`` when that digest is known for both sides, else ``"size"``
    (then equal sizes only mean the content may be the same).
    """

    path: str
    size_a: int
    size_b: int
    differs: bool
    compared: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size_a": self.size_a, "size_b": self.size_b, "compared": self.compared}


@dataclass(frozen=True)
class VersionDiff:
    """Files added, removed, changed and unchanged from version ``a`` to ``b``, and the licences of both."""

    handle: Handle
    registry: str
    a: VersionSummary
    b: VersionSummary
    added: tuple[ListedFile, ...]
    removed: tuple[ListedFile, ...]
    changed: tuple[FileComparison, ...]
    same: tuple[FileComparison, ...]

    @property
    def unchanged(self) -> int:
        return len(self.same)

    def compared(self) -> dict[str, int]:
        """How many common files were compared by each means (``COMPARISONS``)."""
        both = (*self.changed, *self.same)
        return {how: sum(1 for f in both if f.compared == how) for how in COMPARISONS}

    @property
    def licence_changed(self) -> bool | None:
        """True/False when both licences were observed; None when one is the current licence standing in."""
        if not (self.a.license_observed and self.b.license_observed):
            return None if self.a.license == self.b.license else True
        return self.a.license != self.b.license

    def as_dict(self) -> dict[str, Any]:
        return {
            "handle": str(self.handle),
            "registry": self.registry,
            "a": version_row(self.a),
            "b": version_row(self.b),
            "added": [{"path": f.path, "size": f.size} for f in self.added],
            "removed": [{"path": f.path, "size": f.size} for f in self.removed],
            "changed": [f.as_dict() for f in self.changed],
            "unchanged": self.unchanged,
            "unchanged_files": [{"path": f.path, "size": f.size_b, "compared": f.compared} for f in self.same],
            "compared": self.compared(),
            "license_changed": self.licence_changed,
        }


def compare_file(path: str, size_a: int, size_b: int, a: dict[str, str], b: dict[str, str]) -> FileComparison:
    """Compare by the strongest digest both sides know (sha256, then md5), else by size. Pure."""
    for how in COMPARISONS[:-1]:
        if a.get(how) and b.get(how):
            differs = size_a != size_b or a[how] != b[how]
            return FileComparison(path, size_a, size_b, differs, how)
    return FileComparison(path, size_a, size_b, size_a != size_b, "size")


def diff_versions(registries: Sequence[Registry], text: str, a: int, b: int) -> VersionDiff:
    """Compare two versions' file lists and licences; files by digest where one is known, else by size."""
    handle = full_handle(text).unversioned()
    registry, rows = first_that_has(registries, lambda r: {row.version: row for row in r.describe_versions(handle)})
    for n in (a, b):
        if n not in rows:
            raise ModelNotFoundError(
                f"{handle} has no version {n}",
                hint=f"its versions are {', '.join(map(str, sorted(rows, reverse=True)))}",
            )
    files_a = {f.path: f for f in registry.version_files(handle.with_version(a))}
    files_b = {f.path: f for f in registry.version_files(handle.with_version(b))}
    common = [
        compare_file(p, files_a[p].size, files_b[p].size, dict(files_a[p].digests), dict(files_b[p].digests))
        for p in sorted(files_a.keys() & files_b.keys())
    ]
    return VersionDiff(
        handle=handle,
        registry=registry.name,
        a=rows[a],
        b=rows[b],
        added=tuple(files_b[p] for p in sorted(files_b.keys() - files_a.keys())),
        removed=tuple(files_a[p] for p in sorted(files_a.keys() - files_b.keys())),
        changed=tuple(f for f in common if f.differs),
        same=tuple(f for f in common if not f.differs),
    )
