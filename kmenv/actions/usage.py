"""``kmenv usage`` and ``kmenv history``: reports over the usage ledger's events.

:func:`summarise` and :func:`history_entries` are pure (events in, rows out). A use event names
a model by the project's name and the generation it was read from; the install event of that
generation says which model instance it was, so usage is reported per instance handle across
projects. :func:`usage_report` and :func:`project_history` are the I/O edges: they read the
ledger, the projects' locks and the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kmenv.errors import UsageError
from kmenv.ledger.events import Event
from kmenv.values.candidates import format_size
from kmenv.values.changes import VersionChange
from kmenv.values.times import utc_time
from kmenv.values.wording import counted

if TYPE_CHECKING:
    from kmenv.actions.project import Project, Runtime

__all__ = [
    "SORT_FIELDS",
    "HistoryEntry",
    "ModelUsage",
    "history_entries",
    "parse_age",
    "project_history",
    "sort_usage",
    "summarise",
    "usage_report",
]

SORT_FIELDS = ("model", "installs", "uses", "last-used", "disk", "downloaded", "throughput")


def parse_age(text: str) -> float:
    """Seconds in an age such as ``30d``, ``12h``, ``2w`` (the same syntax as ``gc --unused-for``)."""
    from kmenv.store.gc_plan import parse_duration

    return parse_duration(text)


@dataclass(frozen=True)
class ModelUsage:
    """One model instance across every project in the report.

    ``installs`` counts the times a version of it entered an environment (a new or different
    version; re-linking the same one is not an install); ``uses`` the ``kmenv.path``/``kmenv
    path`` calls; ``last_used`` is UNIX time (None: never used). ``disk`` is the bytes the
    locked versions' files hold in the store (each blob once); ``downloaded`` and
    ``download_seconds`` add up the downloads, whose ratio is the mean throughput.
    """

    handle: str
    names: tuple[str, ...]
    projects: int
    installs: int
    uses: int
    last_used: float | None
    disk: int
    downloaded: int
    download_seconds: float

    @property
    def throughput(self) -> float | None:
        """Mean download speed in bytes per second, or None without timed downloads."""
        return self.downloaded / self.download_seconds if self.download_seconds > 0 else None

    def as_dict(self) -> dict[str, object]:
        return {
            "handle": self.handle,
            "names": list(self.names),
            "projects": self.projects,
            "installs": self.installs,
            "uses": self.uses,
            "last_used": utc_time(self.last_used),
            "disk": self.disk,
            "downloaded": self.downloaded,
            "download_seconds": round(self.download_seconds, 6),
            "throughput": None if self.throughput is None else round(self.throughput, 1),
        }


# -- pure ---------------------------------------------------------------------------------------------------------


def _handles_by_generation(events: Sequence[Event]) -> dict[tuple[str | None, int | None, str | None], str]:
    return {
        (e.environment, e.generation, e.model): e.handle for e in events if e.kind == "install" and e.handle is not None
    }


def _attribute(events: Sequence[Event]) -> list[tuple[Event, str]]:
    """Each event with the instance handle it is about (uses are matched to their generation's install)."""
    by_generation = _handles_by_generation(events)
    latest: dict[tuple[str | None, str | None], str] = {}
    found = []
    for event in events:
        handle = event.handle
        if handle is None and event.model is not None:
            key = (event.environment, event.generation, event.model)
            handle = by_generation.get(key) or latest.get((event.environment, event.model))
        if handle is None:
            continue
        if event.model is not None:
            latest[(event.environment, event.model)] = handle
        found.append((event, handle))
    return found


@dataclass
class _Tally:
    names: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    installs: int = 0
    uses: int = 0
    last: float | None = None
    nbytes: int = 0
    seconds: float = 0.0


def summarise(
    events: Sequence[Event], *, since: float | None = None, disk: Mapping[str, int] | None = None
) -> list[ModelUsage]:
    """Per-instance usage from ``events`` (oldest first); counts only events at or after ``since``.

    Every instance any event mentions gets a row, so models unused in the window show up with
    zero uses and an older ``last_used``: they are what ``gc`` can reclaim.
    """
    disk = disk or {}
    tallies: dict[str, _Tally] = {}
    installed: dict[tuple[str | None, str | None], tuple[str, int | None]] = {}
    for event, handle in _attribute(events):
        tally = tallies.setdefault(handle, _Tally())
        counted = since is None or (event.time or 0.0) >= since
        if event.model is not None:
            tally.names.add(event.model)
        if event.project is not None:
            tally.projects.add(event.project)
        if event.kind == "install":
            key, now = (event.environment, event.model), (handle, event.version)
            if installed.get(key) != now and counted:
                tally.installs += 1
            installed[key] = now
        elif event.kind == "use":
            if counted:
                tally.uses += 1
            tally.last = max(tally.last or 0.0, event.time or 0.0)
        elif event.kind == "download" and counted and event.nbytes:
            tally.nbytes += event.nbytes
            tally.seconds += event.seconds or 0.0
    return [
        ModelUsage(
            handle=handle,
            names=tuple(sorted(t.names)),
            projects=len(t.projects),
            installs=t.installs,
            uses=t.uses,
            last_used=t.last,
            disk=disk.get(handle, 0),
            downloaded=t.nbytes,
            download_seconds=t.seconds,
        )
        for handle, t in sorted(tallies.items())
    ]


def sort_usage(rows: Iterable[ModelUsage], field: str = "uses") -> list[ModelUsage]:
    """Rows by ``field`` (see :data:`SORT_FIELDS`): numbers largest first, the model handle A to Z."""
    if field not in SORT_FIELDS:
        raise UsageError(f"cannot sort by {field!r}", hint=f"sort by one of: {', '.join(SORT_FIELDS)}")
    by_handle = sorted(rows, key=lambda r: r.handle)
    if field == "model":
        return by_handle
    keys = {
        "installs": lambda r: r.installs,
        "uses": lambda r: r.uses,
        "last-used": lambda r: r.last_used or 0.0,
        "disk": lambda r: r.disk,
        "downloaded": lambda r: r.downloaded,
        "throughput": lambda r: r.throughput or 0.0,
    }
    return sorted(by_handle, key=keys[field], reverse=True)


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened to a project: ``kind``, when, and the version moves it made.

    ``changes`` are the version moves; None stands for absent. ``note`` says the rest.
    """

    time: float
    kind: str
    generation: int | None
    changes: tuple[VersionChange, ...]
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "time": utc_time(self.time),
            "kind": self.kind,
            "generation": self.generation,
            "changes": [{"name": n, "old": o, "new": v} for n, o, v in self.changes],
            "note": self.note,
        }


_CHANGING = ("lock", "install", "upgrade", "remove", "rollback", "validate", "gc")


def _groups(events: Sequence[Event]) -> list[list[Event]]:
    """Consecutive events of one kind and generation recorded within a second of each other: one action."""
    groups: list[list[Event]] = []
    for event in events:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last.kind == event.kind
            and last.generation == event.generation
            and abs((event.time or 0) - (last.time or 0)) < 1.0
        ):
            groups[-1].append(event)
        else:
            groups.append([event])
    return groups


def _constraint_note(event: Event) -> str:
    old, new = event.detail["constraint"]
    return f"models.{event.model} constraint {old or '(any)'} → {new or '(any)'}"


def _differences(before: Mapping[str, int], after: Mapping[str, int]) -> list[VersionChange]:
    return [
        VersionChange(name, before.get(name), after.get(name))
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def history_entries(events: Sequence[Event], *, uses: bool = False) -> list[HistoryEntry]:
    """What changed when, oldest first: installs as the version moves between generations, locks and upgrades.

    Uses and downloads are left out unless ``uses`` (they say what was read, not what changed).
    """
    installed: dict[str, int] = {}
    generations: dict[int | None, dict[str, int]] = {}  # what each generation holds, for rollbacks
    entries = []
    shown = (*_CHANGING, "use", "download") if uses else _CHANGING
    for group in _groups([e for e in events if e.kind in shown]):
        first = group[0]
        changes: list[VersionChange] = []
        note = ""
        if first.kind == "install":
            now = {e.model: e.version for e in group if e.model is not None and e.version is not None}
            changes = _differences(installed, now)
            installed = generations[first.generation] = now
            note = counted(len(now), "model") + ("" if changes else ", no version changed")
        elif first.kind == "rollback":
            back = generations.get(first.generation)
            if back is not None:
                changes, installed = _differences(installed, back), back
            note = f"from generation {first.detail.get('from', '?')}"
        elif first.kind in ("lock", "upgrade"):
            moved = [e for e in group if e.model and e.previous != e.version]
            changes = [VersionChange(e.model or "", e.previous, e.version) for e in moved]
            edits = [e for e in group if "constraint" in e.detail]
            note = "; ".join(_constraint_note(e) for e in edits)
        elif first.kind == "use":
            note = f"{len(group)} × " + ", ".join(sorted({e.model or "?" for e in group}))
        elif first.kind == "download":
            total = sum(e.nbytes or 0 for e in group)
            note = f"{format_size(total)} for " + ", ".join(sorted({e.model or "?" for e in group}))
        else:
            names = sorted({e.model for e in group if e.model})
            extra = [f"{k}={v}" for e in group for k, v in sorted(e.detail.items())]
            note = ", ".join([*names, *extra])
        entries.append(HistoryEntry(first.time or 0.0, first.kind, first.generation, tuple(changes), note))
    return entries


# -- I/O edges ----------------------------------------------------------------------------------------------------


def _disk_by_handle(runtime: Runtime, projects: Iterable[str]) -> dict[str, int]:
    """Bytes the locked versions of each instance hold in the store, counting each blob once per instance."""
    from kmenv.errors import KmenvError

    store = runtime.store
    blobs: dict[str, dict[str, int]] = {}
    for folder in projects:
        try:
            lock = runtime.project(folder).read_lock()
        except KmenvError:
            continue
        for model in lock.models.values() if lock else ():
            held = blobs.setdefault(model.handle, {})
            for f in model.files:
                if f.sha256 not in held and store.has_blob(f.sha256, f.size):
                    held[f.sha256] = f.size
    return {handle: sum(sizes.values()) for handle, sizes in blobs.items()}


def usage_report(
    runtime: Runtime, *, since: float | None = None, project: str | None = None, sort: str = "uses"
) -> list[ModelUsage]:
    """Usage per model instance from the ledger; ``project`` limits it to one project folder."""
    ledger = runtime.ledger
    events = ledger.events(project=project)
    folders = [project] if project is not None else ledger.projects()
    rows = summarise(events, since=since, disk=_disk_by_handle(runtime, folders))
    return sort_usage(rows, sort)


def project_history(project: Project, *, since: float | None = None, uses: bool = False) -> list[HistoryEntry]:
    """This project's entries, oldest first (all of its events are read: an install's changes need the one before)."""
    events = project.ledger.events(project=project.root)
    entries = history_entries(events, uses=uses)
    return [e for e in entries if since is None or e.time >= since]


def now() -> float:
    """The current UNIX time (one place to read the clock)."""
    return time.time()
