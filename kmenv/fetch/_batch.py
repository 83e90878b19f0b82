"""Fetch many files into the store in parallel; the first failure (or Ctrl-C) stops the rest cleanly.

One bounded pool serves the whole batch (:class:`~kmenv.fetch.pool.PriorityPool`, one shared
session whose connection pool fits it): small files run in it whole, large ones are split into
byte ranges (:mod:`kmenv.fetch.ranged`) whose coordinators run beside it and feed it their ranges
first. At most ``max(workers, connections)`` connections are open, and memory stays constant (one
read per connection). Each file goes through :meth:`kmenv.store.blobstore.Store.ingest`, so nothing
unverified ever becomes a blob, and an interrupted download stays resumable.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests

from kmenv.errors import UsageError
from kmenv.fetch.download import DOWNLOAD_RETRY, Cancelled, Meter, Submit
from kmenv.fetch.http import make_session, redact_url
from kmenv.fetch.pace import Pace
from kmenv.fetch.pool import PriorityPool
from kmenv.fetch.progress import NullProgress, ProgressSink, SerialProgress
from kmenv.fetch.retry import RetryPolicy
from kmenv.fetch.source import FileSource
from kmenv.fetch.stream import stream_into
from kmenv.fetch.tuning import Tuning
from kmenv.store.blobstore import BlobWriter, Store, check_free_space
from kmenv.values.candidates import FileEntry

__all__ = ["FetchJob", "FetchReport", "fetch_all"]

_WAIT_SLICE_SECONDS = 0.2  # how often the main thread wakes while waiting, so Ctrl-C lands promptly


@dataclass(frozen=True)
class FetchJob:
    """One file to bring into the store.

    ``source`` says where the bytes are (its headers may hold credentials and never appear in
    messages); ``entry`` what they must be; ``label`` names the file for progress and errors
    (``gemma/model.safetensors``).
    """

    source: FileSource
    entry: FileEntry
    label: str


@dataclass(frozen=True)
class FetchReport:
    """What :func:`fetch_all` did.

    ``files``/``bytes_downloaded``: files written into the store and bytes received for them
    (restarted transfers count every byte received). ``files_reused``/``bytes_reused``: files
    whose blob was already there. ``seconds``: wall time.
    """

    files: int
    bytes_downloaded: int
    files_reused: int
    bytes_reused: int
    seconds: float


class _Tally:
    """Counters shared by the workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.files = self.bytes_downloaded = self.files_reused = self.bytes_reused = 0

    def transferred(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_downloaded += nbytes

    def done(self, entry: FileEntry, *, fetched: bool) -> None:
        with self._lock:
            if fetched:
                self.files += 1
            else:
                self.files_reused += 1
                self.bytes_reused += entry.size


def _unique(jobs: Sequence[FetchJob]) -> list[FetchJob]:
    """The first job for each sha256: identical bytes are fetched once."""
    seen: set[str] = set()
    unique: list[FetchJob] = []
    for job in jobs:
        if job.entry.sha256 not in seen:
            seen.add(job.entry.sha256)
            unique.append(job)
    return unique


def fetch_all(
    store: Store,
    jobs: Sequence[FetchJob],
    *,
    workers: int = 4,
    progress: ProgressSink | None = None,
    session: requests.Session | None = None,
    retries: int = DOWNLOAD_RETRY.retries,
    backoff: float = DOWNLOAD_RETRY.backoff,
    tuning: Tuning | None = None,
) -> FetchReport:
    """Bring every job's blob into ``store``, skipping those already there.

    Raises the first failure after stopping the other downloads: ``IntegrityError`` for bytes
    that do not match, ``RegistryError`` for a 404 (a listed file the registry cannot serve),
    ``NetworkError`` after ``retries`` retries (waiting ``backoff * 2**n`` seconds before retry n),
    ``StorageError`` when the disk lacks room, or a stalled download after its deadline (``tuning``,
    from ``KMENV_*`` when not given). ``session`` is used as given (its pool should fit the connections); otherwise one
    is made and closed here.
    """
    if workers < 1:
        raise UsageError(f"workers must be at least 1, not {workers}", hint="set KMENV_MAX_WORKERS to e.g. 8")
    started = time.monotonic()
    tally = _Tally()
    todo: list[FetchJob] = []
    for job in _unique(jobs):
        if store.has(job.entry):
            tally.done(job.entry, fetched=False)
        else:
            todo.append(job)
    todo.sort(key=lambda job: -job.entry.size)  # biggest first: no large file starts last and runs alone
    sink = SerialProgress(progress or NullProgress())
    sink.begin(len(todo), sum(job.entry.size for job in todo))
    try:
        if todo:
            check_free_space(store.root, sum(job.entry.size for job in todo))
            tuning = tuning or Tuning.from_env()
            split = any(tuning.splits(job.entry.size) for job in todo)
            threads = max(min(workers, len(todo)), tuning.connections if split else 1)
            http = session or make_session(threads)
            policy = DOWNLOAD_RETRY.with_retries(retries, backoff=backoff)
            try:
                _run_pool(store, todo, http, _Plan(workers, threads, tuning, policy), sink, tally)
                _sync_folders(store, todo)
            finally:
                if session is None:
                    http.close()
    finally:
        sink.end()
    return FetchReport(
        files=tally.files,
        bytes_downloaded=tally.bytes_downloaded,
        files_reused=tally.files_reused,
        bytes_reused=tally.bytes_reused,
        seconds=time.monotonic() - started,
    )


@dataclass(frozen=True)
class _Plan:
    """How a batch runs: files in flight, pool threads, splitting and pacing, retries."""

    workers: int
    threads: int
    tuning: Tuning
    policy: RetryPolicy


def _run_pool(
    store: Store, jobs: Sequence[FetchJob], session: requests.Session, plan: _Plan, sink: SerialProgress, tally: _Tally
) -> None:
    """Run the jobs; on the first failure (or Ctrl-C) tell the others to stop, wait for them, raise."""
    cancel = threading.Event()
    pool = PriorityPool(plan.threads)
    large = [job for job in jobs if plan.tuning.splits(job.entry.size) and _is_http(job.source)]
    small = [job for job in jobs if job not in large]
    coordinators = ThreadPoolExecutor(max_workers=max(1, min(plan.workers, len(large))), thread_name_prefix="kmenv-big")
    futures: list[Future[None]] = []
    first: BaseException | None = None
    ranges = pool.bound(0)
    try:
        run = (store, session, plan, cancel, sink, tally)
        futures = [coordinators.submit(_fetch_one, job, *run, ranges) for job in large]
        futures += [pool.submit(_fetch_one, job, *run, None, priority=1) for job in small]
        pending = set(futures)
        while pending and first is None:
            done, pending = wait(pending, timeout=_WAIT_SLICE_SECONDS, return_when=FIRST_EXCEPTION)
            first = next((e for e in map(_failure, done) if e is not None), None)
    finally:
        cancel.set()  # harmless when all is done; after a failure or Ctrl-C it stops the rest
        coordinators.shutdown(wait=True, cancel_futures=True)
        pool.shutdown()
    first = first or next((e for e in map(_failure, futures) if e is not None), None)
    if first is not None:
        raise first


def _sync_folders(store: Store, jobs: Sequence[FetchJob]) -> None:
    """fsync the folders new blobs were renamed into, once per batch rather than once per file.

    Each blob's bytes were fsynced before its rename; this makes the renames themselves survive a
    power cut. A folder that cannot be opened or synced (a filesystem without it) is skipped.
    """
    folders = {store.blob_path(job.entry.sha256).parent for job in jobs}
    for folder in sorted(folders | {f.parent for f in folders}):
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def _is_http(source: FileSource) -> bool:
    return source.url.lower().startswith(("http://", "https://"))


def _failure(future: Future[None]) -> BaseException | None:
    """The real error of a finished job; a job stopped because another failed is not one."""
    error = None if future.cancelled() else future.exception()
    return None if isinstance(error, Cancelled) else error


def _fetch_one(
    job: FetchJob,
    store: Store,
    session: requests.Session,
    plan: _Plan,
    cancel: threading.Event,
    sink: SerialProgress,
    tally: _Tally,
    submit: Submit | None,
) -> None:
    meter = Meter(job.label, sink, tally.transferred)
    started = False
    tuning = plan.tuning
    pace = Pace(job.label, size=job.entry.size, min_speed=tuning.min_speed, window=tuning.window)

    def produce(writer: BlobWriter) -> None:
        nonlocal started
        if not started:
            sink.start(job.label, job.entry.size)
            started = True
        stream_into(
            writer,
            session,
            job.source,
            policy=plan.policy,
            cancel=cancel,
            meter=meter,
            tuning=tuning,
            pace=pace,
            submit=submit,
        )

    def poll() -> None:
        if cancel.is_set():
            raise Cancelled

    if cancel.is_set():
        raise Cancelled
    if job.source.in_place:  # verified and referenced where it is: no byte is copied, none downloaded
        sink.start(job.label, job.entry.size)
        started = True
        hashed = partial(sink.advance, job.label)
        # the caller obtained these bytes itself (counted as fetched, 0 bytes), as with a copied local file
        fetched = store.adopt(job.entry, _local_path(job.source), label=job.label, poll=poll, on_bytes=hashed)
    else:
        fetched = store.ingest(job.entry, produce, label=job.label, poll=poll)
    if started:
        sink.finish(job.label)
    tally.done(job.entry, fetched=fetched)


def _local_path(source: FileSource) -> Path:
    """The file a local (``file://``) source names."""
    parts = urlsplit(source.url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise UsageError(f"{redact_url(source.url)} is not a local file", hint="only local files can be used in place")
    return Path(url2pathname(parts.path))
