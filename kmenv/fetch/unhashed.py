"""Fetch one file whose sha256 is not known yet (Kaggle publishes a size and an md5, never a sha256).

The bytes are verified against every digest the caller knows and every ``x-goog-hash`` digest
the reply carries, in the same pass that computes the sha256 they are then stored under; the
digest index learns the pair, so the next lookup by md5 needs no download at all. A caller learning
many files runs them with :func:`~kmenv.fetch.pool.map_interruptible` (re-exported here, with
:class:`~kmenv.fetch.pool.Slots`, the shared budget of downloads), so Ctrl-C stops them all between
receives.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import replace

import requests

from kmenv.fetch.bounded import refuse_past
from kmenv.fetch.download import DOWNLOAD_RETRY, Meter
from kmenv.fetch.http import make_session, redact_url
from kmenv.fetch.pace import Pace
from kmenv.fetch.pool import Slots, current_cancel, map_interruptible
from kmenv.fetch.progress import NullProgress, ProgressSink, SerialProgress
from kmenv.fetch.source import FileSource
from kmenv.fetch.stream import stream_into
from kmenv.fetch.tuning import Tuning
from kmenv.store.blobstore import BlobWriter, Store, check_free_space

__all__ = ["Slots", "current_cancel", "fetch_unknown", "map_interruptible"]


def _resume_key(source: FileSource, size: int | None, digests: Mapping[str, str]) -> str:
    """What names this download across runs: its published digests, else where it comes from."""
    if digests:
        return "digests:" + json.dumps(sorted((k.lower(), v.strip()) for k, v in digests.items()))
    body = json.dumps(dict(source.json), sort_keys=True, default=str) if source.json is not None else ""
    return f"source:{source.method.upper()} {redact_url(source.url)} {body} {size}"


def fetch_unknown(
    store: Store,
    source: FileSource,
    *,
    size: int | None,
    digests: Mapping[str, str],
    label: str,
    progress: ProgressSink | None = None,
    session: requests.Session | None = None,
    retries: int = DOWNLOAD_RETRY.retries,
    backoff: float = DOWNLOAD_RETRY.backoff,
    cancel: threading.Event | None = None,
    limit: int | None = None,
    tuning: Tuning | None = None,
    learned: dict[str, str] | None = None,
) -> str:
    """Bring ``source``'s bytes into ``store`` and return their sha256.

    ``size`` (when given) and every digest in ``digests`` (hex or base64; ``md5`` for Kaggle)
    must match, as must any ``x-goog-hash`` md5 of the reply; otherwise ``IntegrityError``
    (exit 6) and nothing is kept. When the digest index already maps one of ``digests`` to a
    blob in the store, nothing is downloaded. Resume, retries, redirects, credential handling,
    splitting into ranges and deadlines are those of :func:`~kmenv.fetch.fetch_all`. ``cancel``
    stops the download between receives (a caller running this on its own threads sets it on
    Ctrl-C: :func:`~kmenv.fetch.pool.map_interruptible`). ``limit`` caps the bytes accepted when
    ``size`` is None (default: ``tuning.undeclared_limit``): one chunk past it the download is refused
    (``IntegrityError``) and nothing is kept. ``learned`` receives the digests
    besides sha256 the bytes were proven to have (the reply's md5): no probe request is needed to
    learn them, and a reply whose md5 names a blob already in the store stops before its body.
    """
    sink = SerialProgress(progress or NullProgress())
    stop = cancel or current_cancel(None) or threading.Event()
    tuning = tuning or Tuning.from_env()
    if limit is not None:
        tuning = replace(tuning, undeclared_limit=limit)
    pace = Pace(label, size=size, min_speed=tuning.min_speed, window=tuning.window)
    policy = DOWNLOAD_RETRY.with_retries(retries, backoff=backoff)
    writing: list[BlobWriter] = []
    meter = Meter(label, sink, lambda nbytes: refuse_past(limit, writing, label))
    started = False
    http: requests.Session | None = None

    def produce(writer: BlobWriter) -> None:
        nonlocal started, http
        writing[:] = [writer]
        if not started:
            sink.begin(1, size or 0)
            sink.start(label, size or 0)
            started = True
        if http is None:
            http = session or make_session(tuning.connections if tuning.splits(size) else 1)
        stream_into(writer, http, source, policy=policy, cancel=stop, meter=meter, tuning=tuning, pace=pace)

    try:
        if size:
            check_free_space(store.root, size)
        sha256 = store.ingest_unknown(
            produce,
            size=size,
            digests=digests,
            label=label,
            resume_key=_resume_key(source, size, digests),
            learned=learned,
        )
        if started:
            sink.finish(label)
        return sha256
    finally:
        if started:
            sink.end()
        if http is not None and session is None:
            http.close()
