"""The documents of the project commands: lock, install, inspection, history, checks, upgrades."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kmenv.actions.outputs._base import Change, Document, Part, Timestamp
from kmenv.compliance.check import Finding, ModelResult

__all__ = [
    "CheckDocument",
    "EnvDocument",
    "HistoryDocument",
    "InstallDocument",
    "ListDocument",
    "LockCheckDocument",
    "LockDocument",
    "OutdatedDocument",
    "OutdatedProjectsDocument",
    "PathDocument",
    "RollbackDocument",
    "TreeDocument",
    "UpgradeDocument",
    "UsageDocument",
    "ValidateDocument",
    "ValidateFolderDocument",
    "WhyDocument",
]


class LockDocument(Document):
    written: bool
    models: dict[str, int]
    changes: list[Change]
    warnings: list[str]
    skipped: list[str]


class LockCheckDocument(Document):
    stale: bool
    reasons: list[str]


class Cleanup(Part):
    generations: int
    blobs: int
    blob_bytes: int


class InstallDocument(Document):
    generation: int
    switched: bool
    relocked: bool
    changes: list[Change]
    fetched_files: int
    fetched_bytes: int
    models: dict[str, int]
    groups: list[str]
    environment: str
    cleanup: Cleanup | None


class ListRow(Part):
    name: str
    handle: str
    version: int
    license: str | None
    size: int
    path: str
    direct: bool
    groups: list[str]
    installed: bool
    locked_version: int | None
    matches_lock: bool


class ListDocument(Document):
    models: list[ListRow]


class TreeNode(Part):
    name: str
    handle: str
    license: str | None
    why: str
    locked_version: int | None
    children: list[TreeNode]


class TreeDocument(Document):
    models: list[TreeNode]


class WhyDocument(Document):
    name: str
    chains: list[list[str]]
    generation: int | None
    source: str
    differences: list[str]


class PathDocument(Document):
    name: str
    path: str


class EnvDocument(Document):
    project: str
    environment: str
    models: dict[str, str]
    variables: dict[str, str]
    collisions: list[list[str]]


class Event(Part):
    time: Timestamp
    kind: str
    generation: int | None
    changes: list[Change]
    note: str


class HistoryDocument(Document):
    project: str
    events: list[Event]


class UsageRow(Part):
    handle: str
    names: list[str]
    projects: int
    installs: int
    uses: int
    last_used: Timestamp | None
    disk: int
    downloaded: int
    download_seconds: float
    throughput: float | None


class UsageDocument(Document):
    since: Timestamp | None
    project: str | None
    models: list[UsageRow]


class Problem(Part):
    kind: str
    path: str
    detail: str | None
    sha256: str | None


class Repair(Part):
    generation: int | None
    fetched_files: int
    ok: bool
    mended: list[str]
    left: list[str]


class ValidateDocument(Document):
    environment: str
    generation: int | None
    ok: bool
    files: int
    bytes: int
    problems: list[Problem]
    repaired: Repair | None


class FolderReport(Part):
    folder: str
    handle: str | None
    registry: str | None
    ok: bool
    files: int
    bytes: int
    problems: list[Problem]


class ValidateFolderDocument(Document):
    root: str
    ok: bool
    folders: list[FolderReport]


class RollbackDocument(Document):
    environment: str
    previous: int
    generation: int
    available: list[int]
    direction: Literal["back", "forward"]
    matches_lock: bool | None
    differences: list[str]


class Licenses(Part):
    current: str | None
    compatible: str | None
    latest: str | None


class LicenseChange(Part):
    from_: str | None = Field(alias="from")
    to: str | None


class ModelStatus(Part):
    name: str
    handle: str
    direct: bool
    current: int
    compatible: int | None
    latest: int
    status: Literal["upgradable", "constrained", "held back", "up to date"]
    outdated: bool
    license: Licenses
    license_change: LicenseChange | None
    reasons: list[str]
    blockers: list[Literal["constraint", "license", "environment", "base model", "other models"]]


class OutdatedDocument(Document):
    project: str
    outdated: bool
    resolution_problem: str | None
    models: list[ModelStatus]


class ProjectReport(Part):
    project: str
    outdated: bool
    resolution_problem: str | None
    models: list[ModelStatus]


class ProjectSkipped(Part):
    project: str
    skipped: str | None
    error: str | None


class OutdatedProjectsDocument(Document):
    projects: list[ProjectReport | ProjectSkipped]


class Move(Part):
    name: str
    handle: str
    old: int | None
    new: int | None
    old_license: str | None
    new_license: str | None
    license_changed: bool
    size_delta: int
    download: int


class ConstraintEdit(Part):
    name: str
    old: str
    new: str
    latest: int


class UpgradeDocument(Document):
    moves: list[Move]
    constraints: list[ConstraintEdit]
    download: int
    size_delta: int
    warnings: list[str]
    unhashed_files: int
    applied: bool
    generation: int | None


class Tool(Part):
    name: Literal["kmenv"]
    version: str
    license_table: str


class Summary(Part):
    models: int
    errors: int
    warnings: int
    notes: int


class CheckDocument(Document):
    """Also what ``check --format json --output FILE`` writes."""

    tool: Tool
    spec_file: str
    lock_file: str
    previous_lock: str | None
    passed: bool
    summary: Summary
    models: list[ModelResult]
    findings: list[Finding]
