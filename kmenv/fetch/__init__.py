"""Verified downloads into the store: HTTP session, retries and resume, progress events (edge layer, does I/O)."""

from kmenv.fetch.batch import FetchJob, FetchReport, fetch_all
from kmenv.fetch.http import make_session, redact_url
from kmenv.fetch.progress import NullProgress, ProgressSink
from kmenv.fetch.unhashed import fetch_unknown

__all__ = [
    "FetchJob",
    "FetchReport",
    "NullProgress",
    "ProgressSink",
    "fetch_all",
    "fetch_unknown",
    "make_session",
    "redact_url",
]
