"""Where registry warnings go unless the caller routes them elsewhere: stderr, each message once per run.

Registries warn about things worth a person's attention that do not stop the work (a
``kaggle.json`` readable by other users). Openers take a ``warn`` callable so the application can
send these through its UI; :data:`warn_once_to_stderr` is what they do by default.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

__all__ = ["Warn", "once", "warn_once_to_stderr"]

#: Receives one warning, as a sentence without the ``warning:`` prefix (never a secret).
Warn = Callable[[str], None]


def once(warn: Warn) -> Warn:
    """``warn``, called at most once per distinct message (a warning per registry opened is noise)."""
    seen: set[str] = set()
    lock = threading.Lock()

    def warn_once(message: str) -> None:
        with lock:
            if message in seen:
                return
            seen.add(message)
        warn(message)

    return warn_once


def _to_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


#: ``warning: <message>`` on stderr, once per message for the life of the process.
warn_once_to_stderr: Warn = once(_to_stderr)
