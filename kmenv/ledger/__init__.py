"""The usage ledger: plain event storage in SQLite and the cheap ``use`` hot path; it knows no use-case types.

``kmenv.ledger.read_events()``, ``last_use_times()`` and ``known_projects()`` read it from Python.
They load on first use, so the ``use`` hot path (:mod:`kmenv.ledger.uses`) pays nothing for them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any

    from kmenv.ledger.database import known_projects, last_use_times, read_events
    from kmenv.ledger.events import Event

__all__ = ["Event", "known_projects", "last_use_times", "read_events"]

_LAZY = {
    "Event": "kmenv.ledger.events",
    "known_projects": "kmenv.ledger.database",
    "last_use_times": "kmenv.ledger.database",
    "read_events": "kmenv.ledger.database",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kmenv.ledger' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
