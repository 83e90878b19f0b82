"""Kaggle metadata cache under ``<cache>/http/kaggle/<host>/``: API answers with a TTL and validators.

Every RPC answer is kept under the *scope* of the identity that received it
(:func:`~kmenv.registry.kaggle.auth.identity_of`: a one-way digest of the credentials, never the
credentials, or ``anonymous``), keyed by method and request body, with the time it was stored and its
``ETag``/``Last-Modified``; a stale entry is revalidated (``304`` keeps it). No answer is shared
between identities: Kaggle's answers differ by caller (a private model exists for its owner only,
a search lists the caller's own private models, an instance listing carries the caller's licence
agreement), and no answer proves that every caller would get the same one.
Answers about a fixed version (its file list) never change on Kaggle and never go stale. In
offline mode every entry is served whatever its age, and a missing one is an error that says
what is missing. Besides answers, small JSON documents kmenv learns (a version's files with their
sha256, the licence seen for each version) live under ``docs/``; they are facts about bytes and
versions, shared by every identity, and read only after a scoped answer about the same version
succeeded for the caller. Writes are atomic (temp + rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kmenv.fs.atomic import write_atomic
from kmenv.fs.bounded import read_json_file
from kmenv.values.documents import DocumentRefused, JsonBounds

__all__ = ["DEFAULT_TTL", "CachedAnswer", "MetadataCache", "safe_part"]

DEFAULT_TTL = 600.0


@dataclass(frozen=True)
class CachedAnswer:
    """One cached RPC answer: the JSON, when it was stored, its validators, and whether it can go stale."""

    data: dict[str, Any]
    stored_at: float
    etag: str | None = None
    last_modified: str | None = None
    immutable: bool = False


def _safe_host(base_url: str) -> str:
    parts = urlsplit(base_url)
    host = (parts.hostname or "local") + (f"_{parts.port}" if parts.port else "")
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in host)


def safe_part(part: str) -> str:
    """One path component made of safe characters only (never ``..``)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in part)
    return "_" if safe in ("", ".", "..") else safe


def _write_json(path: Path, data: object) -> None:
    """Atomic but not fsynced: a cache entry lost to a power cut is fetched again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, sort_keys=True), durable=False)


#: How one cache entry is bounded when read (an entry is one API answer, see the client's ``ANSWER_BOUNDS``).
_ENTRY_BOUNDS = JsonBounds(16 * 1024 * 1024)


def _read_json(path: Path) -> Any:
    """A cache entry, or None when it is absent or unusable (a folder, endless, damaged): then it is asked again."""
    try:
        return read_json_file(path, _ENTRY_BOUNDS)
    except (OSError, DocumentRefused):
        return None


class MetadataCache:
    """Cached Kaggle answers for one API base; ``root=None`` keeps nothing (every call goes out).

    ``offline``: serve any entry, never the network. ``refresh``: ignore entries when reading (but
    still store the new answers). ``ttl``: seconds an answer counts as fresh.
    """

    def __init__(
        self,
        root: Path | None,
        base_url: str,
        *,
        ttl: float = DEFAULT_TTL,
        offline: bool = False,
        refresh: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dir = root / "kaggle" / _safe_host(base_url) if root is not None else None
        self.base_url = base_url
        self.ttl = ttl
        self.offline = offline
        self.refresh = refresh
        self._clock = clock

    def _answer_path(self, method: str, body: Mapping[str, object], scope: str) -> Path | None:
        if self.dir is None:
            return None
        canonical = json.dumps({"url": self.base_url, "method": method, "body": body, "scope": scope}, sort_keys=True)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return self.dir / "rpc" / safe_part(scope) / method / f"{digest}.json"

    def get(self, method: str, body: Mapping[str, object], *, scope: str) -> CachedAnswer | None:
        """The answer ``scope`` (an identity) was given, fresh or not; ``None`` if none and under ``refresh``."""
        path = self._answer_path(method, body, scope)
        if path is None or (self.refresh and not self.offline):
            return None
        raw = _read_json(path)
        if not isinstance(raw, dict) or not isinstance(raw.get("data"), dict) or raw.get("scope") != scope:
            return None
        return CachedAnswer(
            data=raw["data"],
            stored_at=float(raw.get("stored_at", 0)),
            etag=raw.get("etag"),
            last_modified=raw.get("last_modified"),
            immutable=bool(raw.get("immutable")),
        )

    def is_fresh(self, answer: CachedAnswer) -> bool:
        return answer.immutable or self._clock() - answer.stored_at < self.ttl

    def put(
        self,
        method: str,
        body: Mapping[str, object],
        data: dict[str, Any],
        *,
        scope: str,
        etag: str | None = None,
        last_modified: str | None = None,
        immutable: bool = False,
    ) -> None:
        """Keep ``data`` as the answer ``scope`` was given."""
        path = self._answer_path(method, body, scope)
        if path is None:
            return
        record = {
            "scope": scope,
            "method": method,
            "body": dict(body),
            "data": data,
            "stored_at": self._clock(),
            "etag": etag,
            "last_modified": last_modified,
            "immutable": immutable,
        }
        with contextlib.suppress(OSError):  # a read-only cache must not break a working call
            _write_json(path, record)

    def touch(self, method: str, body: Mapping[str, object], answer: CachedAnswer, *, scope: str) -> None:
        """The server confirmed (304) to ``scope`` that ``answer`` is current: make it fresh again."""
        self.put(
            method,
            body,
            answer.data,
            scope=scope,
            etag=answer.etag,
            last_modified=answer.last_modified,
            immutable=answer.immutable,
        )

    def answers(self, method: str, *, scope: str, limit: int = 2000) -> list[dict[str, Any]]:
        """Every answer to ``method`` that ``scope`` was given, newest first (at most ``limit`` files read).

        For matching text Kaggle's search does not look at (model descriptions) in what this identity
        already saw; the records are checked to belong to ``scope``, as :meth:`get` checks them.
        """
        if self.dir is None:
            return []
        folder = self.dir / "rpc" / safe_part(scope) / method
        try:
            paths = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
        except OSError:
            return []
        found = []
        for path in paths:
            raw = _read_json(path)
            if isinstance(raw, dict) and raw.get("scope") == scope and isinstance(raw.get("data"), dict):
                found.append(raw["data"])
        return found

    # -- learned documents -----------------------------------------------------------------

    def _doc_path(self, name: str) -> Path | None:
        if self.dir is None:
            return None
        return self.dir / "docs" / f"{'/'.join(safe_part(part) for part in name.split('/'))}.json"

    def read_doc(self, name: str) -> Any:
        path = self._doc_path(name)
        return None if path is None else _read_json(path)

    def write_doc(self, name: str, data: object) -> None:
        path = self._doc_path(name)
        if path is not None:
            with contextlib.suppress(OSError):
                _write_json(path, data)
