"""Whether a process still runs: what the owner a lock or a partial download records is worth (stdlib only)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["HOST", "pid_alive"]

#: This machine's name, as lock and partial-download records write it (``socket.gethostname()`` reads the same
#: kernel field, but importing :mod:`socket` costs a warm install more than its linking).
HOST = os.uname().nodename


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a partial it owns is still being written).

    A process killed but not yet reaped by its parent (a zombie) still answers ``kill(pid, 0)``, yet it
    will never write again: on Linux its state in ``/proc/<pid>/stat`` says so (``Z``, or ``X`` while
    it is being reaped), and it counts as dead, so its partial is resumed and gc may remove it.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists; /proc still tells whether it is a zombie
    return _process_state(pid) not in _DEAD_STATES


_DEAD_STATES = frozenset({"Z", "X", "x"})


def _process_state(pid: int) -> str | None:
    """The one-letter state ``/proc/<pid>/stat`` gives: ``X`` when it vanished, None without a /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return "X" if Path("/proc/self/stat").exists() else None  # reaped since kill() saw it
    except OSError:
        return None
    fields = stat.rpartition(b")")[2].split()  # the command name, in parentheses, may hold spaces
    return fields[0].decode("ascii", "replace") if fields else None
