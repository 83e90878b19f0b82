"""Exclusive file locks that say who holds them, so a run that must wait can tell the user at once why.

A holder writes ``{"pid", "host", "operation"}`` into the lock file once it has the ``flock`` and
empties the file again before letting go; a run that finds the lock taken reads that record and
hears of it through ``on_wait`` before it starts waiting. The record is advice for people, never
trusted for correctness: the ``flock`` alone decides. A record left by a killed holder names a
process that no longer exists, and is then not shown. Standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kmenv.fs.processes import HOST, pid_alive

__all__ = ["LockHolder", "held_lock", "waiting_text"]

#: The most of a lock file read for its record (a pid, a host name and a few words).
_RECORD_BYTES = 4096
#: How long a waiter gives a holder that has the lock but has not written its record yet.
_RECORD_GRACE_SECONDS = 0.2
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as far as its record tells (every field None when it tells nothing)."""

    pid: int | None = None
    host: str | None = None
    operation: str | None = None


def waiting_text(holder: LockHolder, *, place: str = "here") -> str:
    """``waiting for another kmenv (pid 412) installing here…``: the line a waiting run prints."""
    who = "another kmenv"
    if holder.pid is not None:
        remote = holder.host is not None and holder.host != HOST
        who += f" (pid {holder.pid} on {holder.host})" if remote else f" (pid {holder.pid})"
    doing = f" {holder.operation}" if holder.operation else ""
    return f"waiting for {who}{doing} {place}…"


@contextlib.contextmanager
def held_lock(
    path: Path,
    *,
    operation: str,
    on_wait: Callable[[LockHolder], None] | None = None,
    poll: Callable[[], None] | None = None,
) -> Iterator[int]:
    """Hold an exclusive ``flock`` on ``path`` (created 0644 when missing), recording ``operation`` in it.

    ``on_wait`` hears, once and before any waiting, who holds the lock when it is taken; ``poll``
    (when given) is called between attempts and may raise to give up, otherwise the wait blocks.
    Yields the descriptor; closing it on exit releases the lock.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        if not _try(fd):
            if on_wait is not None:
                on_wait(_holder(fd))
            if poll is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                while not _try(fd):
                    poll()
                    time.sleep(_POLL_SECONDS)
        _write_record(fd, operation)
        try:
            yield fd
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # the next waiter reads no stale record
    finally:
        os.close(fd)  # releases the flock


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True


def _write_record(fd: int, operation: str) -> None:
    record = json.dumps({"pid": os.getpid(), "host": HOST, "operation": operation})
    with contextlib.suppress(OSError):  # a record is a courtesy: a full disk must not fail the run
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode("utf-8"), 0)


def _holder(fd: int) -> LockHolder:
    """The holder's record; a holder that has the lock but no record yet gets a moment to write it."""
    deadline = time.monotonic() + _RECORD_GRACE_SECONDS
    while True:
        holder = _read_record(fd)
        if holder.pid is not None or time.monotonic() >= deadline:
            return holder
        time.sleep(0.02)


def _read_record(fd: int) -> LockHolder:
    try:
        data = json.loads(os.pread(fd, _RECORD_BYTES, 0).decode("utf-8"))
    except (OSError, ValueError):
        return LockHolder()
    if not isinstance(data, dict):
        return LockHolder()
    pid, host, operation = data.get("pid"), data.get("host"), data.get("operation")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return LockHolder()
    host = host if isinstance(host, str) and len(host) <= 255 else None
    operation = operation if isinstance(operation, str) and len(operation) <= 200 and operation.isprintable() else None
    if (host is None or host == HOST) and not pid_alive(pid):
        return LockHolder()  # left by a holder that was killed; the real holder has not written yet
    return LockHolder(pid, host, operation)
