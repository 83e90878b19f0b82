"""How downloads are paced and split, from ``KMENV_*`` variables checked like every other setting.

``KMENV_CONNECTIONS``   the most byte ranges of one large file in flight (1 turns splitting off); the
                        ``--connections`` flag wins over it (:func:`for_run`); parsed in :mod:`kmenv.config`
``KMENV_SPLIT_SIZE``    files at least this big are fetched in ranges (``64M``)
``KMENV_MIN_SPEED``     the slowest a download may be over a window before it is given up (``1K``/s)
``KMENV_SPEED_WINDOW``  that window, in seconds (60)

Read once per batch, not at import, so the no-op paths never parse them. A bad value is a usage
error naming the variable (exit 2), never a traceback, however long or strange the value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from kmenv.config import DEFAULT_CONNECTIONS, MAX_CONNECTIONS, max_connections
from kmenv.errors import UsageError

__all__ = ["MAX_CONNECTIONS", "Tuning", "for_run", "parse_size"]

_run: list[int] = []  # the connections this run's command line asked for (``--connections``), if it did


def for_run(connections: int | None) -> None:
    """Make ``connections`` (the ``--connections`` flag; None: no flag) win over ``KMENV_CONNECTIONS`` for this run.

    The command line sets it once per command, before anything downloads; every batch of the run
    (install, the sha256s a lock learns, upgrade, mirror) reads it through :meth:`Tuning.from_env`.
    """
    _run[:] = [] if connections is None else [connections]


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"([0-9]{1,15})\s*([KMGT]?)(?:I?B)?", re.IGNORECASE)
_SHOWN_CHARS = 40


def _shown(value: str) -> str:
    return repr(value) if len(value) <= _SHOWN_CHARS else repr(value[:_SHOWN_CHARS]) + "…"


def parse_size(var: str, text: str, *, low: int, high: int, example: str) -> int:
    """A byte count such as ``64M``, ``1K`` or ``1048576`` (binary units), within ``[low, high]``."""
    hint = f"set {var} to a size such as {example} (units K, M, G; binary), or unset it"
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"{var}={_shown(text)} is not a size", hint=hint)
    value = int(match.group(1)) * _UNITS[match.group(2).upper()]
    if not low <= value <= high:
        raise UsageError(f"{var}={_shown(text)} is out of range ({low} to {high} bytes)", hint=hint)
    return value


def _whole(var: str, text: str, *, low: int, high: int, example: int) -> int:
    hint = f"set {var} to a whole number from {low} to {high}, e.g. {example}, or unset it"
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,9}", text):  # ASCII digits only, and never a 5,000-digit conversion
        raise UsageError(f"{var}={_shown(text)} is not a whole number from {low} to {high}", hint=hint)
    value = int(text)
    if not low <= value <= high:
        raise UsageError(f"{var}={_shown(text)} is not a whole number from {low} to {high}", hint=hint)
    return value


@dataclass(frozen=True)
class Tuning:
    """Download pacing and splitting; the defaults suit a CDN that caps each connection at tens of MB/s.

    ``connections``: the most ranges of one file in flight at once. ``split_size``: files at least this
    big may be split. A file starts as one stream; after ``adapt_seconds`` of it, if the rest would take
    longer than ``split_after`` seconds, its remainder is shared among more connections, growing while
    that buys speed (:mod:`kmenv.fetch.adapt`; ``adapt_seconds`` 0 splits into ``connections`` at once).
    ``piece_min``: the smallest range handed to another connection (a connection that finishes early
    takes half of the largest range still running, down to this). ``min_speed`` (bytes/s) over ``window`` seconds:
    a download slower than that is given up with its bytes kept; it also sets each download's
    overall deadline, ``window + size / min_speed``. ``undeclared_limit``: the most bytes accepted
    when neither the registry nor the server says how big a file is.
    """

    connections: int = DEFAULT_CONNECTIONS
    split_size: int = 64 << 20
    piece_min: int = 4 << 20
    adapt_seconds: float = 0.1
    split_after: float = 4.0
    min_speed: int = 1 << 10
    window: float = 60.0
    undeclared_limit: int = 1 << 40

    @classmethod
    def from_env(cls) -> Tuning:
        """The defaults, overridden by any ``KMENV_*`` variable set (blank means unset) and the run's flag."""
        env = {k: v for k in _VARS if (v := os.environ.get(k, "")).strip()}
        base = cls()
        return cls(
            connections=_run[0] if _run else max_connections(env.get("KMENV_CONNECTIONS")),
            split_size=parse_size("KMENV_SPLIT_SIZE", env["KMENV_SPLIT_SIZE"], low=1 << 20, high=1 << 50, example="64M")
            if "KMENV_SPLIT_SIZE" in env
            else base.split_size,
            min_speed=parse_size("KMENV_MIN_SPEED", env["KMENV_MIN_SPEED"], low=0, high=1 << 40, example="1K")
            if "KMENV_MIN_SPEED" in env
            else base.min_speed,
            window=float(_whole("KMENV_SPEED_WINDOW", env["KMENV_SPEED_WINDOW"], low=1, high=86400, example=60))
            if "KMENV_SPEED_WINDOW" in env
            else base.window,
        )

    def splits(self, size: int | None) -> bool:
        """Whether a file of ``size`` bytes is fetched in parallel ranges."""
        return self.connections > 1 and size is not None and size >= self.split_size


_VARS = ("KMENV_CONNECTIONS", "KMENV_SPLIT_SIZE", "KMENV_MIN_SPEED", "KMENV_SPEED_WINDOW")
