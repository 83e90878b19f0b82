"""The usage ledger: a SQLite file of timestamped events for ``history``, ``usage`` and ``gc --unused-for``.

Standard library only, and ``sqlite3`` itself is imported on first use, because ``kmenv.path()``
records a *use* on the hot path of user code: one insert on a connection kept open for the
life of the process (opening and closing cost a checkpoint, ~10 ms; an insert ~0.05 ms).

The file lives at ``<data dir>/ledger.sqlite`` (``KMENV_DATA_DIR``), in WAL mode with a busy
timeout so several processes can write at once. The ledger is a convenience, never a reason
to fail: a locked or unwritable ledger loses the event, a corrupt one is renamed aside and
started afresh, and either prints one warning per process on stderr. ``KMENV_NO_LEDGER=1``
turns it off. Nothing that could carry a secret is stored: URLs lose their user part, query
string and fragment (signed URLs), and headers are never passed in.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import sqlite3

    from kmenv.actions.install import InstallOutcome
    from kmenv.actions.lock import LockOutcome
    from kmenv.actions.project import Project
    from kmenv.fetch import FetchJob

__all__ = [
    "KINDS",
    "LEDGER_FILENAME",
    "Event",
    "Ledger",
    "known_projects",
    "last_use_times",
    "ledger_path",
    "read_events",
    "record",
    "record_event",
    "record_install",
    "record_lock",
    "record_use",
    "scrub",
]

LEDGER_FILENAME = "ledger.sqlite"
SCHEMA_VERSION = 1
#: Every kind of event the ledger records.
KINDS = ("lock", "install", "upgrade", "remove", "rollback", "use", "validate", "gc", "download")
#: Kinds that show an environment is alive (``gc --unused-for`` keeps what one of these touched recently).
LIVE_KINDS = ("install", "upgrade", "rollback", "use")
BUSY_SECONDS = 5.0
USE_BUSY_SECONDS = 1.0  # a use is recorded inside user code: give up sooner

_COLUMNS = (
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
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        kind TEXT NOT NULL,
        project TEXT,
        environment TEXT,
        model TEXT,
        handle TEXT,
        version INTEGER,
        previous INTEGER,
        generation INTEGER,
        bytes INTEGER,
        seconds REAL,
        source TEXT,
        detail TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS events_by_project ON events (project, time)",
    "CREATE INDEX IF NOT EXISTS events_by_environment ON events (environment, kind, time)",
)
_INSERT = f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"

T = TypeVar("T")


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
        """The values to insert, in :data:`_COLUMNS` order, with every string scrubbed of secrets."""
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


_default_paths: dict[str | None, Path] = {}  # KMENV_DATA_DIR value → ledger path: resolving costs syscalls


def ledger_path(data_dir: str | Path | None = None) -> Path | None:
    """Where the ledger is: ``data_dir`` (default ``KMENV_DATA_DIR`` or the platform's data dir); None when disabled."""
    if os.environ.get("KMENV_NO_LEDGER", "").strip().lower() in {"1", "true", "yes", "on"}:
        return None
    if data_dir is not None:
        return Path(data_dir) / LEDGER_FILENAME
    env = os.environ.get("KMENV_DATA_DIR") or None
    found = _default_paths.get(env)
    if found is None:
        if env:
            folder = Path(env).expanduser().resolve()  # as kmenv.config.Settings resolves it
        else:
            import platformdirs

            folder = Path(platformdirs.user_data_dir("kmenv"))
        found = _default_paths[env] = folder / LEDGER_FILENAME
    return found


# -- warnings -----------------------------------------------------------------------------------------------------

_warned = False


def _warn(text: str) -> None:
    """Print one warning per process: a broken ledger is worth knowing about once, not on every event."""
    global _warned
    if _warned:
        return
    _warned = True
    print(f"warning: {text}", file=sys.stderr, flush=True)


def reset_warning() -> None:
    """Allow the next problem to warn again (for long-lived processes and tests)."""
    global _warned
    _warned = False


# -- the database -------------------------------------------------------------------------------------------------


class Ledger:
    """The ledger file at ``path``; every method opens its own connection and closes it."""

    def __init__(self, path: Path, *, timeout: float | None = None) -> None:
        self.path = path
        self.timeout = BUSY_SECONDS if timeout is None else timeout

    def connect(self, *, timeout: float | None = None) -> sqlite3.Connection:
        """An autocommit connection with the schema in place (raises sqlite3 errors as they come)."""
        import sqlite3

        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            timeout=self.timeout if timeout is None else timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across crashes of the process
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version < SCHEMA_VERSION:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return conn

    def append(self, events: Sequence[Event]) -> None:
        """Insert ``events`` in one transaction."""
        if not events:
            return
        now = time.time()
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_INSERT, [e.row(now) for e in events])
            conn.execute("COMMIT")
        finally:
            conn.close()

    def query(
        self,
        *,
        project: str | None = None,
        kinds: Iterable[str] | None = None,
        since: float | None = None,
    ) -> list[Event]:
        """Events matching every filter given, oldest first."""
        where: list[str] = []
        params: list[object] = []
        if project is not None:
            where.append("project = ?")
            params.append(project)
        if kinds is not None:
            chosen = list(kinds)
            where.append(f"kind IN ({', '.join('?' for _ in chosen)})")
            params.extend(chosen)
        if since is not None:
            where.append("time >= ?")
            params.append(since)
        sql = f"SELECT id, {', '.join(_COLUMNS)} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        conn = self.connect()
        try:
            rows = conn.execute(sql + " ORDER BY time, id", params).fetchall()
        finally:
            conn.close()
        return [_event(row) for row in rows]

    def projects(self) -> list[str]:
        """Every project folder the ledger has seen, sorted."""
        conn = self.connect()
        try:
            rows = conn.execute("SELECT DISTINCT project FROM events WHERE project IS NOT NULL").fetchall()
        finally:
            conn.close()
        return sorted(str(r[0]) for r in rows)

    def last_use_times(self) -> dict[str, float]:
        """Environment folder → the last time it was installed into or used."""
        conn = self.connect()
        try:
            rows = conn.execute(
                f"SELECT environment, MAX(time) FROM events WHERE environment IS NOT NULL "
                f"AND kind IN ({', '.join('?' for _ in LIVE_KINDS)}) GROUP BY environment",
                LIVE_KINDS,
            ).fetchall()
        finally:
            conn.close()
        return {str(env): float(when) for env, when in rows}

    def set_aside(self) -> Path | None:
        """Rename a damaged file (and its WAL files) out of the way; the next connection starts a new one."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:  # another process set it aside first
            return None
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        return aside


def _event(row: Sequence[Any]) -> Event:
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


def _guarded(ledger: Ledger, work: Callable[[Ledger], T], default: T, doing: str) -> T:
    """Run ``work``; a busy, unwritable or corrupt ledger warns once and yields ``default`` instead of failing.

    A corrupt file is set aside and the work tried once more on a fresh one.
    """
    import sqlite3

    for attempt in (1, 2):
        try:
            return work(ledger)
        except sqlite3.OperationalError as exc:  # locked past the timeout, read-only, disk full, cannot open
            _warn(f"usage ledger {ledger.path}: {exc}; {doing} skipped (set KMENV_NO_LEDGER=1 to turn the ledger off)")
            return default
        except sqlite3.DatabaseError as exc:  # not a database, malformed
            if attempt == 2:
                break
            aside = ledger.set_aside()
            where = f"moved it to {aside.name} and started a new one" if aside else "started a new one"
            _warn(f"usage ledger {ledger.path} was unreadable ({exc}); {where}")
        except OSError as exc:
            _warn(f"usage ledger {ledger.path}: {exc.strerror or exc}; {doing} skipped")
            return default
    return default


# -- the module-level API -----------------------------------------------------------------------------------------


def record(events: Sequence[Event], *, data_dir: str | Path | None = None) -> bool:
    """Append ``events`` to the ledger; True when they were stored. Never raises for ledger trouble."""
    path = ledger_path(data_dir)
    if path is None or not events:
        return False
    ledger = Ledger(path)

    def append(target: Ledger) -> bool:
        target.append(events)
        return True

    return _guarded(ledger, append, False, "recording")


def read_events(
    *,
    project: str | Path | None = None,
    kinds: Iterable[str] | None = None,
    since: float | None = None,
    data_dir: str | Path | None = None,
) -> list[Event]:
    """Recorded events, oldest first; ``[]`` when the ledger is off, absent or unreadable."""
    path = ledger_path(data_dir)
    if path is None or not path.exists():
        return []
    wanted = None if project is None else str(project)
    return _guarded(
        Ledger(path), lambda target: target.query(project=wanted, kinds=kinds, since=since), [], "reading it"
    )


def known_projects(*, data_dir: str | Path | None = None) -> list[str]:
    """Every project folder the ledger has events for (some may no longer exist)."""
    path = ledger_path(data_dir)
    if path is None or not path.exists():
        return []
    return _guarded(Ledger(path), Ledger.projects, [], "reading it")


def last_use_times(data_dir: str | Path | None = None) -> dict[str, float]:
    """Absolute ``.kmenv`` folder → last install or use (UNIX time); ``{}`` when the ledger is off or unreadable.

    Keys are the environment paths as kmenv saw them (absolute, symlinks not resolved).
    """
    path = ledger_path(data_dir)
    if path is None or not path.exists():
        return {}
    return _guarded(Ledger(path), Ledger.last_use_times, {}, "reading it")


# -- uses: the hot path -------------------------------------------------------------------------------------------

_use_lock = threading.Lock()
_use_connection: tuple[int, Path, sqlite3.Connection] | None = None
_inherited: list[sqlite3.Connection] = []  # connections from a parent process: never used, never closed


def record_use(project: Path, model: str, *, generation: int | None = None) -> None:
    """Record that code in ``project`` asked for ``model``: one insert on a connection kept open for the process."""
    path = ledger_path()
    if path is None:
        return
    event = Event("use", project=str(project), environment=str(project / ".kmenv"), model=model, generation=generation)
    _guarded(Ledger(path, timeout=USE_BUSY_SECONDS), lambda target: _insert_use(target, event), None, "recording")


def _insert_use(ledger: Ledger, event: Event) -> None:
    global _use_connection
    import sqlite3

    with _use_lock:
        held = _use_connection
        if held is not None and (held[0] != os.getpid() or held[1] != ledger.path):
            if held[0] != os.getpid():
                _inherited.append(held[2])  # SQLite forbids using a connection across fork()
            else:
                held[2].close()
            held = _use_connection = None
        if held is None:
            _close_at_exit()
            held = _use_connection = (os.getpid(), ledger.path, ledger.connect())
        try:
            held[2].execute(_INSERT, event.row(time.time()))
        except sqlite3.DatabaseError:
            held[2].close()
            _use_connection = None
            raise


_at_exit = False


def _close_at_exit() -> None:
    global _at_exit
    if not _at_exit:
        import atexit

        atexit.register(_close_use_connection)
        _at_exit = True


def _close_use_connection() -> None:
    global _use_connection
    with _use_lock:
        if _use_connection is not None and _use_connection[0] == os.getpid():
            _use_connection[2].close()
        _use_connection = None


# -- what the installer and the locker record ---------------------------------------------------------------------


def _origin(url: str) -> str:
    """Where bytes came from, without any path a signed URL could hide a token in: ``https://host`` or ``file://``."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return f"{parts.scheme}://" if parts.scheme else "file://"


def install_events(project: Project, outcome: InstallOutcome, jobs: Sequence[FetchJob], seconds: float) -> list[Event]:
    """One ``install`` event per model of the new generation, and one ``download`` per model that fetched bytes.

    ``fetch_all`` runs files in parallel, so time per model is not measured: each model gets the
    share of the batch's bytes and seconds its files make up.
    """
    root, env = str(project.root), str(project.env_path)
    events = [
        Event(
            "install",
            project=root,
            environment=env,
            model=name,
            handle=model.handle,
            version=model.version,
            generation=outcome.generation,
            detail={"registry": model.registry, "license": model.license.spdx or model.license.published},
        )
        for name, model in sorted(outcome.lock.models.items())
    ]
    planned: dict[str, int] = {}
    origins: dict[str, str] = {}
    for job in jobs:
        name = job.label.split("/", 1)[0]
        planned[name] = planned.get(name, 0) + job.entry.size
        origins.setdefault(name, _origin(job.source.url))
    total = sum(planned.values())
    if outcome.fetched_bytes and total:
        for name, size in sorted(planned.items()):
            model = outcome.lock.models.get(name)
            share = size / total
            events.append(
                Event(
                    "download",
                    project=root,
                    environment=env,
                    model=name,
                    handle=model.handle if model else None,
                    version=model.version if model else None,
                    generation=outcome.generation,
                    nbytes=round(outcome.fetched_bytes * share),
                    seconds=seconds * share,
                    source=origins[name],
                    detail={"registry": model.registry} if model else {},
                )
            )
    return events


def record_install(project: Project, outcome: InstallOutcome, jobs: Sequence[FetchJob], seconds: float) -> None:
    """Record a switched install (see :func:`install_events`); never raises for ledger trouble."""
    if not outcome.switched or not project.settings.ledger:
        return
    record(install_events(project, outcome, jobs, seconds), data_dir=project.settings.data_dir)


def record_lock(project: Project, outcome: LockOutcome) -> None:
    """Record a lock that changed the file: one event per version move (or one for the project)."""
    if not outcome.written or not project.settings.ledger:
        return
    root, env = str(project.root), str(project.env_path)
    events = []
    for name, old, new in outcome.changes:
        model = outcome.lock.models.get(name)
        events.append(
            Event(
                "lock",
                project=root,
                environment=env,
                model=name,
                handle=model.handle if model else None,
                version=new,
                previous=old,
            )
        )
    if not events:
        events.append(Event("lock", project=root, environment=env, detail={"models": len(outcome.lock.models)}))
    record(events, data_dir=project.settings.data_dir)


def record_event(project: Project | Path | None, kind: str, **fields: Any) -> None:
    """Record one event of ``kind`` about a project (a :class:`Project`, its folder, or None for the machine).

    Commands such as remove, rollback, validate and gc call this once; it never raises for ledger trouble.
    """
    from kmenv.actions.project import Project

    if isinstance(project, Project):
        if not project.settings.ledger:
            return
        root: Path | None = project.root
        data_dir: Path | None = project.settings.data_dir
    else:
        root, data_dir = project, None
    folder = None if root is None else str(root)
    environment = None if root is None else str(root / ".kmenv")
    record([Event(kind, project=folder, environment=environment, **fields)], data_dir=data_dir)
