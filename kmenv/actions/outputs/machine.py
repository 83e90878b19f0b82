"""The documents of the commands about this machine: the store, gc, the Kaggle account, doctor, and errors."""

from __future__ import annotations

from typing import Literal

from kmenv.actions.cache import DamagedBlob
from kmenv.actions.outputs._base import Document, Part

__all__ = [
    "CacheCleanDocument",
    "CacheListDocument",
    "CacheVerifyDocument",
    "DoctorDocument",
    "ErrorDocument",
    "GcDocument",
    "LoginDocument",
    "WhoamiDocument",
]


class Held(Part):
    count: int
    bytes: int


class Blob(Part):
    sha256: str
    bytes: int
    used_by: list[str]


class CacheListDocument(Document):
    cache: str
    blobs: list[Blob]


class CacheVerifyDocument(Document):
    cache: str
    ok: bool
    blobs: int
    bytes: int
    damaged: list[DamagedBlob]


class Folder(Part):
    path: str
    bytes: int


class CacheCleanDocument(Document):
    cache: str
    dry_run: bool
    folders: list[Folder]
    freed_bytes: int | None


class Deletion(Part):
    kind: str
    path: str
    bytes: int
    reason: str
    environment: str | None
    generation: int | None


class Budget(Part):
    cache_max: int
    blob_bytes: int
    blob_bytes_after: int


class Plan(Part):
    total_bytes: int
    summary: dict[str, Held]
    deletions: list[Deletion]
    kept_generations: dict[str, list[int]]
    warnings: list[str]
    held_back: dict[str, Held]
    budget: Budget | None


class GcDocument(Document):
    """``gc`` and ``cache prune``; ``deleted`` and ``freed_bytes`` are null under ``dry_run``."""

    cache: str
    dry_run: bool
    plan: Plan
    deleted: int | None
    freed_bytes: int | None
    skipped: list[str]


class WhoamiDocument(Document):
    user: str
    source: str
    auth: str
    api: str
    identity: str


class LoginDocument(Document):
    path: str
    user: str
    verified: bool
    replaced: bool


class Check(Part):
    name: str
    status: Literal["ok", "warn", "fail", "skipped"]
    detail: str


class Paths(Part):
    cache: str | None
    config: str | None
    data: str | None
    environment: str | None
    project: str | None


class DoctorDocument(Document):
    version: str
    python: str
    platform: str
    api: str
    paths: Paths
    checks: list[Check]
    healthy: bool


class ErrorDocument(Document):
    """What every command prints under ``--json`` when it fails (the stderr lines, as fields)."""

    error: str
    hint: str | None
    details: list[str]
    exit_code: int
