"""The ``x-goog-hash`` header Kaggle's blob host sends: the md5 (and crc32c) of a file, before its body."""

from __future__ import annotations

from kmenv.fetch.download import goog_hashes

__all__ = ["parse_goog_hash"]


def parse_goog_hash(header: str | None) -> dict[str, str]:
    """``crc32c=<b64>,md5=<b64>`` → ``{"crc32c": ..., "md5": ...}``; malformed parts are skipped."""
    return dict(goog_hashes(header or ""))
