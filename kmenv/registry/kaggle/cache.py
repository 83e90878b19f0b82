"""Kaggle metadata cache under ``<cache>/http/kaggle/<host>/``: API answers with a TTL and validators.

Every RPC answer is kept (keyed by method and request body, never by credentials) with the time it
was stored and its ``ETag``/``Last-Modified``; a stale entry is revalidated (``304`` keeps it).
Answers about a fixed version (its file list) never change on Kaggle and never go stale. In
offline mode every entry is served whatever its age, and a missing one is an error that says
what is missing. Besides answers, small JSON documents kmenv learns (a version's files with their
sha256, the licence seen for each version) live under ``docs/``. Writes are atomic (temp + rename).
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

__all__ = ["DEFAULT_TTL", "CachedAnswer", "MetadataCache"]

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

    def _answer_path(self, method: str, body: Mapping[str, object]) -> Path | None:
        if self.dir is None:
            return None
        canonical = json.dumps({"url": self.base_url, "method": method, "body": body}, sort_keys=True)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return self.dir / "rpc" / method / f"{digest}.json"

    def get(self, method: str, body: Mapping[str, object]) -> CachedAnswer | None:
        """The stored answer (fresh or not), or ``None``; ``None`` always under ``refresh``."""
        path = self._answer_path(method, body)
        if path is None or (self.refresh and not self.offline):
            return None
        raw = _read_json(path)
        if not isinstance(raw, dict) or not isinstance(raw.get("data"), dict):
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
        etag: str | None = None,
        last_modified: str | None = None,
        immutable: bool = False,
    ) -> None:
        path = self._answer_path(method, body)
        if path is None:
            return
        record = {
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

    def touch(self, method: str, body: Mapping[str, object], answer: CachedAnswer) -> None:
        """The server confirmed (304) that ``answer`` is current: make it fresh again."""
        self.put(
            method, body, answer.data, etag=answer.etag, last_modified=answer.last_modified, immutable=answer.immutable
        )

    # -- learned documents -----------------------------------------------------------------

    def _doc_path(self, name: str) -> Path | None:
        if self.dir is None:
            return None
        safe = "/".join("".join(c if c.isalnum() or c in "._-" else "_" for c in part) for part in name.split("/"))
        return self.dir / "docs" / f"{safe}.json"

    def read_doc(self, name: str) -> Any:
        path = self._doc_path(name)
        return None if path is None else _read_json(path)

    def write_doc(self, name: str, data: object) -> None:
        path = self._doc_path(name)
        if path is not None:
            with contextlib.suppress(OSError):
                _write_json(path, data)
