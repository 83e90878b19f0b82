"""The ledger's hot path: ``kmenv.path()`` records a *use* inside user code, so it must cost next to nothing.

One insert on a connection kept open for the life of the process (opening and closing cost a
checkpoint, ~10 ms; an insert ~0.05 ms), a shorter busy timeout than other writes, and nothing
heavier than the standard library: the location comes from :func:`kmenv.config.ledger_dir`,
not from :class:`~kmenv.config.Settings`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.environment.layout import ENV_DIRNAME
from kmenv.ledger.database import INSERT, Ledger, guarded, ledger_path, once
from kmenv.ledger.events import Event

if TYPE_CHECKING:
    import sqlite3

__all__ = ["USE_BUSY_SECONDS", "close_use_connection", "record_use"]

USE_BUSY_SECONDS = 1.0  # a use is recorded inside user code: give up sooner

_use_lock = threading.Lock()
_use_connection: tuple[int, Path, sqlite3.Connection] | None = None
_inherited: list[sqlite3.Connection] = []  # connections from a parent process: never used, never closed


def record_use(
    project: Path, model: str, *, generation: int | None = None, warn: Callable[[str], None] | None = None
) -> None:
    """Record that code in ``project`` asked for ``model``: one insert on a connection kept open for the process.

    Ledger trouble goes to ``warn`` once (default: one ``warning:`` line per process on stderr).
    """
    path = ledger_path()
    if path is None:
        return
    event = Event(
        "use", project=str(project), environment=str(project / ENV_DIRNAME), model=model, generation=generation
    )
    ledger = Ledger(path, timeout=USE_BUSY_SECONDS)
    guarded(ledger, lambda target: _insert_use(target, event), None, "recording", once(warn))


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
            held[2].execute(INSERT, event.row(time.time()))
        except sqlite3.DatabaseError:
            held[2].close()
            _use_connection = None
            raise


_at_exit = False


def _close_at_exit() -> None:
    global _at_exit
    if not _at_exit:
        import atexit

        atexit.register(close_use_connection)
        _at_exit = True


def close_use_connection() -> None:
    """Close the connection uses are recorded on (at exit; tests call it to leave no connection open)."""
    global _use_connection
    with _use_lock:
        if _use_connection is not None and _use_connection[0] == os.getpid():
            _use_connection[2].close()
        _use_connection = None
