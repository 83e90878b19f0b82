"""What the usage ledger stores: :class:`Event`, its kinds, and the scrubbing that keeps secrets out of it.

Standard library only (``json`` on first use): a ``use`` event is built on ``kmenv.path()``'s hot path.
Nothing that could carry a secret is stored: URLs lose their user part, query string and fragment
(signed URLs), and headers are never passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (every install records events)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COLUMNS", "KINDS", "LIVE_KINDS", "Event", "event_from_row", "origin", "scrub"]

#: Every kind of event the ledger records.
KINDS = ("lock", "install", "upgrade", "remove", "rollback", "use", "validate", "gc", "download")
#: Kinds that show an environment is alive (``gc --unused-for`` keeps what one of these touched recently).
LIVE_KINDS = ("install", "upgrade", "rollback", "use")

#: The stored columns, in the order :meth:`Event.row` gives them (``id`` comes first when reading back).
COLUMNS = (
    "time",
    "kind",
    "project",
    "environment",
    "model",
    "handle",
    "version",
    "previous",
    "generation",
    "bytes",
    "seconds",
    "source",
    "detail",
)


@dataclass(frozen=True)
class Event:
    """One thing that happened.

    ``kind`` is one of :data:`KINDS`. ``project`` is the absolute project folder and
    ``environment`` its absolute ``.kmenv`` folder. ``model`` is the project's name for the
    model, ``handle`` the unversioned instance handle, ``version``/``previous`` the version
    after and before (upgrade, lock), ``generation`` the environment generation involved.
    ``nbytes``/``seconds``/``source`` describe a download (``source`` is an origin such as
    ``https://host``, never a full signed URL). ``detail`` holds anything else, as JSON.
    ``time`` (UNIX seconds) is filled in when recorded; ``id`` when read back.
    """

    kind: str
    project: str | None = None
    environment: str | None = None
    model: str | None = None
    handle: str | None = None
    version: int | None = None
    previous: int | None = None
    generation: int | None = None
    nbytes: int | None = None
    seconds: float | None = None
    source: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    time: float | None = None
    id: int | None = None

    def row(self, now: float) -> tuple[object, ...]:
        """The values to insert, in :data:`COLUMNS` order, with every string scrubbed of secrets."""
        detail = {k: _scrub_value(v) for k, v in self.detail.items()}
        return (
            self.time if self.time is not None else now,
            self.kind,
            self.project,
            self.environment,
            self.model,
            self.handle,
            self.version,
            self.previous,
            self.generation,
            self.nbytes,
            self.seconds,
            scrub(self.source) if self.source is not None else None,
            _dumps(detail) if detail else None,
        )


def event_from_row(row: Sequence[Any]) -> Event:
    """The event a stored row (``id`` then :data:`COLUMNS`) holds; unreadable detail reads as empty."""
    (id_, when, kind, project, environment, model, handle, version, previous, generation, nbytes, seconds, source) = (
        row[:13]
    )
    import json

    try:
        detail = json.loads(row[13]) if row[13] else {}
    except ValueError:
        detail = {}
    return Event(
        kind=kind,
        project=project,
        environment=environment,
        model=model,
        handle=handle,
        version=version,
        previous=previous,
        generation=generation,
        nbytes=nbytes,
        seconds=seconds,
        source=source,
        detail=detail if isinstance(detail, dict) else {},
        time=when,
        id=id_,
    )


def _dumps(detail: Mapping[str, Any]) -> str:
    import json  # not on the hot path: a use carries no detail

    return json.dumps(detail, sort_keys=True)


def scrub(text: str) -> str:
    """``text`` without what could be a secret when it is a URL: user and password, query string, fragment."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.split("?", 1)[0]
    if not parts.scheme or len(parts.scheme) == 1:  # a plain path (or a Windows drive letter)
        return text.split("?", 1)[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


def origin(url: str) -> str:
    """Where bytes came from, without any path a signed URL could hide a token in: ``https://host`` or ``file://``."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return f"{parts.scheme}://" if parts.scheme else "file://"
