"""The documents of the commands that look at registries: search, show, versions, compare, download, mirror."""

from __future__ import annotations

from kmenv.actions.outputs._base import Document, Part, Timestamp
from kmenv.values.discovery import Metric

__all__ = [
    "CompareDocument",
    "DownloadDocument",
    "MirrorDocument",
    "SearchDocument",
    "ShowDocument",
    "VersionsDiffDocument",
    "VersionsDocument",
    "VersionsFilesDocument",
]


class SearchRow(Part):
    handle: str
    registry: str
    title: str
    frameworks: list[str]
    licenses: list[str]
    votes: int | None
    updated: Timestamp | None
    tags: list[str]


class SearchDocument(Document):
    models: list[SearchRow]
    total: int | None
    more: bool


class Instance(Part):
    handle: str
    framework: str | None
    variation: str | None
    license: str | None
    fine_tunable: bool | None
    base: str | None
    size: int | None
    latest_version: int | None
    downloads: float | None
    requires: dict[str, str]
    training_data: list[str]
    metrics: list[Metric]
    url: str | None
    version_notes: str | None
    gated: bool | None
    consent: str | None
    access: str


class Chosen(Part):
    handle: str
    version: int


class ShowDocument(Document):
    handle: str
    registry: str
    title: str
    subtitle: str
    owner: str
    tags: list[str]
    votes: int | None
    published: Timestamp | None
    updated: Timestamp | None
    url: str | None
    description: str
    instances: list[Instance]
    chosen: Chosen | None
    license: str | None
    requires: dict[str, str]
    training_data: list[str]
    usage: str
    metrics: list[Metric]
    metrics_text: str | None
    metrics_note: str | None
    overview: str
    links: dict[str, str]
    version_notes: str | None
    access: str | None


class VersionRow(Part):
    version: int
    latest: bool
    files: int | None
    size: int | None
    license: str | None
    license_observed: bool
    published: Timestamp | None
    requires: dict[str, str]
    training_data: list[str]
    metrics: list[Metric]


class VersionsDocument(Document):
    handle: str
    registry: str
    versions: list[VersionRow]
    metrics: list[str]
    metrics_note: str | None


class FileSize(Part):
    path: str
    size: int


class ChangedFile(Part):
    path: str
    size_a: int
    size_b: int
    compared: str


class SameFile(Part):
    path: str
    size: int
    compared: str


class VersionsDiffDocument(Document):
    handle: str
    registry: str
    a: VersionRow
    b: VersionRow
    added: list[FileSize]
    removed: list[FileSize]
    changed: list[ChangedFile]
    unchanged: int
    unchanged_files: list[SameFile]
    compared: dict[str, int]
    license_changed: bool | None


class ListedFile(Part):
    path: str
    size: int
    digests: dict[str, str]


class VersionsFilesDocument(Document):
    handle: str
    registry: str
    version: int | None
    latest: bool
    files: list[ListedFile]
    count: int
    size: int


class ComparedVersion(Part):
    handle: str
    registry: str
    license: str | None
    size: int | None
    metrics: dict[str, float | None]
    sources: dict[str, str | None]
    metrics_note: str | None


class CompareDocument(Document):
    columns: list[str]
    versions: list[ComparedVersion]
    notes: list[str]


class DownloadedFile(Part):
    path: str
    size: int
    sha256: str | None


class Downloaded(Part):
    handle: str
    path: str
    files: list[DownloadedFile]
    fetched: int
    fetched_bytes: int


class DownloadDocument(Document):
    downloads: list[Downloaded]


class MirroredVersion(Part):
    handle: str
    version: int


class MirrorDocument(Document):
    target: str
    dry_run: bool
    versions: list[MirroredVersion]
    files: int
    total_bytes: int
    blobs_present: int
    blobs_written: int
    bytes_written: int
    fetched_files: int
    fetched_bytes: int
    bytes_to_fetch: int
    bytes_to_write: int
