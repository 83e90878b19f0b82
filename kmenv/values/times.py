"""Times as kmenv writes them: ISO-8601 UTC, whole seconds, ending in ``Z`` (the one spelling in documents)."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["utc_time", "utc_timestamp"]


def utc_timestamp(text: str | None) -> str | None:
    """``text`` (RFC 3339 with any offset) as ISO-8601 UTC ending in ``Z``; None when absent or unreadable."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_time(seconds: float | None) -> str | None:
    """A POSIX time (seconds since the epoch) as ISO-8601 UTC ending in ``Z``; None stays None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
