"""The usage ledger's file: a SQLite database of timestamped events for ``history``, ``usage`` and ``gc --unused-for``.

Standard library only, and ``sqlite3`` itself is imported on first use. The file lives at
``<data dir>/ledger.sqlite``, in WAL mode with a busy timeout so several processes can write at
once. The ledger is a convenience, never a reason to fail: a locked or unwritable ledger loses the
event, a corrupt one is renamed aside and started afresh, and either says so once through the
``warn`` callback its owner passes (the CLI's warning line; a ``warning:`` line on stderr by default).
``KMENV_NO_LEDGER=1`` turns it off (see :func:`kmenv.config.ledger_dir`).

:class:`Ledger` is the raw file; :class:`UsageLedger` is what the rest of kmenv holds: every
operation guarded, the location and on/off switch taken from :class:`~kmenv.config.Settings`.
The module-level functions are the same operations on the ledger the environment names.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from kmenv.config import ledger_dir
from kmenv.ledger.events import COLUMNS, LIVE_KINDS, Event, event_from_row

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (every install records events)
if TYPE_CHECKING:
    import sqlite3
    from typing import TypeVar

    from kmenv.config import Settings

    T = TypeVar("T")

__all__ = [
    "LEDGER_FILENAME",
    "Ledger",
    "UsageLedger",
    "WarnOnce",
    "guarded",
    "known_projects",
    "last_use_times",
    "ledger_path",
    "read_events",
    "record",
    "reset_warning",
]

LEDGER_FILENAME = "ledger.sqlite"
SCHEMA_VERSION = 1
BUSY_SECONDS = 5.0

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
INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"


# -- warnings -----------------------------------------------------------------------------------------------------


def print_warning(text: str) -> None:
    """The warning sink for library use: one ``warning:`` line on stderr."""
    print(f"warning: {text}", file=sys.stderr, flush=True)


class WarnOnce:
    """Pass the first warning on to ``sink`` and drop the rest: a broken ledger is worth knowing about once."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self.sink = sink
        self.warned = False

    def __call__(self, text: str) -> None:
        if not self.warned:
            self.warned = True
            self.sink(text)


_process_warning = WarnOnce(print_warning)  # shared by every ledger opened without a sink of its own


def reset_warning() -> None:
    """Allow the next problem of a ledger without its own sink to warn again (long-lived processes and tests)."""
    _process_warning.warned = False


def once(warn: Callable[[str], None] | None) -> WarnOnce:
    """``warn`` said at most once; without one, the process-wide ``warning:`` line on stderr."""
    return _process_warning if warn is None else WarnOnce(warn)


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
            conn.executemany(INSERT, [e.row(now) for e in events])
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
        sql = f"SELECT id, {', '.join(COLUMNS)} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        conn = self.connect()
        try:
            rows = conn.execute(sql + " ORDER BY time, id", params).fetchall()
        finally:
            conn.close()
        return [event_from_row(row) for row in rows]

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


def guarded(ledger: Ledger, work: Callable[[Ledger], T], default: T, doing: str, warn: Callable[[str], None]) -> T:
    """Run ``work``; a busy, unwritable or corrupt ledger tells ``warn`` and yields ``default`` instead of failing.

    A corrupt file is set aside and the work tried once more on a fresh one.
    """
    import sqlite3

    for attempt in (1, 2):
        try:
            return work(ledger)
        except sqlite3.OperationalError as exc:  # locked past the timeout, read-only, disk full, cannot open
            warn(f"usage ledger {ledger.path}: {exc}; {doing} skipped (set KMENV_NO_LEDGER=1 to turn the ledger off)")
            return default
        except sqlite3.DatabaseError as exc:  # not a database, malformed
            if attempt == 2:
                break
            aside = ledger.set_aside()
            where = f"moved it to {aside.name} and started a new one" if aside else "started a new one"
            warn(f"usage ledger {ledger.path} was unreadable ({exc}); {where}")
        except OSError as exc:
            warn(f"usage ledger {ledger.path}: {exc.strerror or exc}; {doing} skipped")
            return default
    return default


# -- the ledger as kmenv holds it ---------------------------------------------------------------------------------


class UsageLedger:
    """The ledger at ``path`` (None: turned off) with every operation guarded; never raises for ledger trouble.

    ``warn`` hears the first problem (the CLI passes its warning line, so ``--no-color`` and the
    like apply); without it, one ``warning:`` line per process goes to stderr.
    """

    def __init__(self, path: Path | None, *, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._warn = once(warn)

    @classmethod
    def from_settings(cls, settings: Settings, *, warn: Callable[[str], None] | None = None) -> UsageLedger:
        """The ledger in ``settings.data_dir``, or a turned-off one when ``settings.ledger`` is false."""
        return cls(settings.data_dir / LEDGER_FILENAME if settings.ledger else None, warn=warn)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def record(self, events: Sequence[Event]) -> bool:
        """Append ``events``; True when they were stored."""
        if self.path is None or not events:
            return False

        def append(target: Ledger) -> bool:
            target.append(events)
            return True

        return guarded(Ledger(self.path), append, False, "recording", self._warn)

    def events(
        self, *, project: str | Path | None = None, kinds: Iterable[str] | None = None, since: float | None = None
    ) -> list[Event]:
        """Recorded events, oldest first; ``[]`` when the ledger is off, absent or unreadable."""
        if self.path is None or not self.path.exists():
            return []
        wanted = None if project is None else str(project)
        return guarded(
            Ledger(self.path),
            lambda target: target.query(project=wanted, kinds=kinds, since=since),
            [],
            "reading it",
            self._warn,
        )

    def projects(self) -> list[str]:
        """Every project folder the ledger has events for (some may no longer exist)."""
        if self.path is None or not self.path.exists():
            return []
        return guarded(Ledger(self.path), Ledger.projects, [], "reading it", self._warn)

    def last_use_times(self) -> dict[str, float]:
        """Absolute ``.kmenv`` folder → last install or use (UNIX time); ``{}`` when the ledger is off or unreadable.

        Keys are the environment paths as kmenv saw them (absolute, symlinks not resolved).
        """
        if self.path is None or not self.path.exists():
            return {}
        return guarded(Ledger(self.path), Ledger.last_use_times, {}, "reading it", self._warn)


# -- the ledger the environment names -----------------------------------------------------------------------------


def ledger_path(data_dir: str | Path | None = None) -> Path | None:
    """Where the ledger is: in ``data_dir`` (default: see :func:`kmenv.config.ledger_dir`); None when turned off."""
    folder = ledger_dir(data_dir)
    return None if folder is None else folder / LEDGER_FILENAME


def _named(data_dir: str | Path | None) -> UsageLedger:
    return UsageLedger(ledger_path(data_dir))


def record(events: Sequence[Event], *, data_dir: str | Path | None = None) -> bool:
    """Append ``events`` to the ledger; True when they were stored. Never raises for ledger trouble."""
    return _named(data_dir).record(events)


def read_events(
    *,
    project: str | Path | None = None,
    kinds: Iterable[str] | None = None,
    since: float | None = None,
    data_dir: str | Path | None = None,
) -> list[Event]:
    """Recorded events, oldest first; ``[]`` when the ledger is off, absent or unreadable."""
    return _named(data_dir).events(project=project, kinds=kinds, since=since)


def known_projects(*, data_dir: str | Path | None = None) -> list[str]:
    """Every project folder the ledger has events for (some may no longer exist)."""
    return _named(data_dir).projects()


def last_use_times(data_dir: str | Path | None = None) -> dict[str, float]:
    """Absolute ``.kmenv`` folder → last install or use; ``{}`` when the ledger is off or unreadable."""
    return _named(data_dir).last_use_times()
