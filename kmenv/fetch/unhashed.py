"""Fetch one file whose sha256 is not known yet (Kaggle publishes a size and an md5, never a sha256).

The bytes are verified against every digest the caller knows and every ``x-goog-hash`` digest
the reply carries, in the same pass that computes the sha256 they are then stored under; the
digest index learns the pair, so the next lookup by md5 needs no download at all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

import requests

from kmenv.fetch.bounded import refuse_past
from kmenv.fetch.download import DOWNLOAD_RETRY, Meter, stream_into
from kmenv.fetch.http import make_session, redact_url
from kmenv.fetch.progress import NullProgress, ProgressSink, SerialProgress
from kmenv.fetch.source import FileSource
from kmenv.store.blobstore import BlobWriter, Store, check_free_space

__all__ = ["fetch_unknown"]


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
    limit: int | None = None,
) -> str:
    """Bring ``source``'s bytes into ``store`` and return their sha256.

    ``size`` (when given) and every digest in ``digests`` (hex or base64; ``md5`` for Kaggle)
    must match, as must any ``x-goog-hash`` md5 of the reply; otherwise ``IntegrityError``
    (exit 6) and nothing is kept. When the digest index already maps one of ``digests`` to a
    blob in the store, nothing is downloaded. Resume, retries, redirects and credential
    handling are those of :func:`~kmenv.fetch.fetch_all`. Without a ``size``, ``limit`` caps the bytes
    accepted: one chunk past it the download is refused (``IntegrityError``) and nothing is kept.
    """
    sink = SerialProgress(progress or NullProgress())
    cancel = threading.Event()
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
            http = session or make_session(1)
        stream_into(writer, http, source, policy=policy, cancel=cancel, meter=meter)

    try:
        if size:
            check_free_space(store.root, size)
        sha256 = store.ingest_unknown(
            produce, size=size, digests=digests, label=label, resume_key=_resume_key(source, size, digests)
        )
        if started:
            sink.finish(label)
        return sha256
    finally:
        cancel.set()
        if started:
            sink.end()
        if http is not None and session is None:
            http.close()
