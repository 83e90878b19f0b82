"""Fetching into the store against local HTTP servers that misbehave on purpose (see ``fetch_faults``)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from fetch_faults import FaultServer, reply, serve_file

from kmenv.errors import IntegrityError, NetworkError, RegistryError
from kmenv.fetch import FetchJob, FetchReport, NullProgress, ProgressSink, fetch_all, make_session
from kmenv.fetch.source import FileSource
from kmenv.store.blobstore import Store
from kmenv.values.candidates import FileEntry

DATA = bytes(range(256)) * 12_000  # ~3 MiB: several 1 MiB chunks
SECRET = "Bearer s3cret-token"


def entry_for(data: bytes, path: str = "model.bin") -> FileEntry:
    return FileEntry(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def job(url: str, data: bytes = DATA, **source: Any) -> FetchJob:
    return FetchJob(source=FileSource(url=url, **source), entry=entry_for(data), label="gemma/model.bin")


def fetch(store: Store, *jobs: FetchJob, **options: Any) -> FetchReport:
    options.setdefault("backoff", 0.0)
    return fetch_all(store, jobs, **options)


def partial_files(store: Store) -> list[str]:
    folder = store.root / "partial"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- the happy path ------------------------------------------------------------------------


def test_a_download_lands_verified_in_the_store(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA)
    report = fetch(store, job(server.url + "/model.bin"))

    assert store.blob_path(entry_for(DATA).sha256).read_bytes() == DATA
    assert (report.files, report.bytes_downloaded, report.files_reused) == (1, len(DATA), 0)
    assert server.hits("/model.bin")[0].headers["Accept-Encoding"] == "identity"
    assert partial_files(store) == []


def test_blobs_already_in_the_store_and_duplicates_are_fetched_once(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA)
    twice = [job(server.url + "/model.bin"), job(server.url + "/model.bin?copy")]
    first = fetch(store, *twice)
    again = fetch(store, *twice)

    assert len(server.hits("/model.bin")) == 1
    assert (first.files, first.files_reused) == (1, 0)
    assert (again.files, again.files_reused, again.bytes_reused) == (0, 1, len(DATA))


def test_progress_events_cover_every_byte(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA)
    events: list[tuple[str, object]] = []

    class Recorder(NullProgress):
        def begin(self, files: int, total_bytes: int) -> None:
            events.append(("begin", (files, total_bytes)))

        def start(self, label: str, total: int) -> None:
            events.append(("start", total))

        def advance(self, label: str, nbytes: int) -> None:
            events.append(("advance", nbytes))

        def finish(self, label: str) -> None:
            events.append(("finish", label))

        def end(self) -> None:
            events.append(("end", None))

    fetch(store, job(server.url + "/model.bin"), progress=Recorder())
    kinds = [kind for kind, _ in events]
    assert kinds[:2] == ["begin", "start"] and kinds[-2:] == ["finish", "end"]
    assert sum(n for kind, n in events if kind == "advance") == len(DATA)  # type: ignore[misc]


def test_a_sink_may_implement_only_the_events_it_shows(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA)
    finished: list[str] = []

    class OnlyFinish(ProgressSink):
        def finish(self, label: str) -> None:
            finished.append(label)

    fetch(store, job(server.url + "/model.bin"), progress=OnlyFinish())
    assert finished == ["gemma/model.bin"]


def test_file_urls_are_copied_with_hashing(tmp_path: Path, store: Store) -> None:
    source = tmp_path / "registry" / "model.bin"
    source.parent.mkdir()
    source.write_bytes(DATA)
    report = fetch(store, job(source.as_uri()))
    assert report.files == 1
    assert store.blob_path(entry_for(DATA).sha256).read_bytes() == DATA

    with pytest.raises(RegistryError, match=r"missing\.bin does not exist"):
        fetch(store, job((tmp_path / "missing.bin").as_uri(), b"other"))


def test_a_session_can_be_supplied_and_is_left_open(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA)
    server.routes["/again"] = lambda handler: reply(handler, 200, b"ok")
    with make_session(2) as session:
        manager = session.get_adapter(server.url).poolmanager  # type: ignore[attr-defined]
        fetch(store, job(server.url + "/model.bin"), session=session)
        assert len(manager.pools) == 1, "closing a session clears its pools; fetch_all must leave a given one open"
        pool = manager.pools[next(iter(manager.pools.keys()))]
        assert pool.num_connections == 1
        assert session.get(server.url + "/again", timeout=5).text == "ok"
        assert pool.num_connections == 1, "the next request reuses the connection the download left idle"
    assert len(manager.pools) == 0  # what a closed session looks like, so the first check can fail


# --- integrity ---------------------------------------------------------------------------


def test_wrong_bytes_raise_integrity_error_and_leave_nothing(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA[:-1] + b"!")
    with pytest.raises(IntegrityError, match=r"gemma/model\.bin: sha256 mismatch") as caught:
        fetch(store, job(server.url + "/model.bin"))
    assert caught.value.exit_code == 6
    assert not store.has(entry_for(DATA))
    assert partial_files(store) == []


def test_an_announced_wrong_size_fails_before_the_download(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA + b"extra")
    with pytest.raises(IntegrityError, match=rf"expected {len(DATA)} bytes, the source announces {len(DATA) + 5}"):
        fetch(store, job(server.url + "/model.bin"))


# --- retries and resume ------------------------------------------------------------------


def test_a_dropped_connection_resumes_with_a_validated_range(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA, cut_first_after=1_500_000)
    report = fetch(store, job(server.url + "/model.bin"))

    first, second = server.hits("/model.bin")
    assert "Range" not in first.headers
    resumed_at = int(second.headers["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 1_500_000
    assert second.headers["If-Range"] == '"v1"'
    assert report.bytes_downloaded == len(DATA)
    assert store.blob_path(entry_for(DATA).sha256).read_bytes() == DATA


def test_a_server_that_ignores_range_restarts_cleanly(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA, cut_first_after=1_500_000)
    route = server.routes["/model.bin"]

    def ignores_range(handler: BaseHTTPRequestHandler) -> None:
        del handler.headers["Range"]  # advertises ranges, then answers 200 with the whole file
        route(handler)

    server.routes["/model.bin"] = ignores_range
    report = fetch(store, job(server.url + "/model.bin"))

    assert "Range" in server.hits("/model.bin")[1].headers
    assert report.bytes_downloaded > len(DATA), "the resumed bytes were thrown away, the 200 body kept"
    assert store.blob_path(entry_for(DATA).sha256).read_bytes() == DATA


def test_without_range_support_a_dropped_download_starts_over(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA, ranges=False, cut_first_after=1_500_000)
    report = fetch(store, job(server.url + "/model.bin"))

    assert ["Range" in hit.headers for hit in server.hits("/model.bin")] == [False, False]
    assert len(DATA) < report.bytes_downloaded <= len(DATA) + 1_500_000
    assert store.blob_path(entry_for(DATA).sha256).read_bytes() == DATA


def test_redirects_reuse_the_connection(server: FaultServer, store: Store) -> None:
    client_ports: list[int] = []

    def noting_the_client_port(route: Callable[[BaseHTTPRequestHandler], None]) -> Any:
        def wrapped(handler: BaseHTTPRequestHandler) -> None:
            client_ports.append(handler.client_address[1])
            route(handler)

        return wrapped

    redirect = noting_the_client_port(lambda h: reply(h, 302, b"moved", {"Location": "/files/model.bin"}))
    server.routes["/download"] = redirect
    server.routes["/files/model.bin"] = noting_the_client_port(serve_file(DATA))
    fetch(store, job(server.url + "/download"))
    assert len(client_ports) == 2 and client_ports[0] == client_ports[1], "one keep-alive connection served both"


def test_a_range_that_starts_elsewhere_is_not_spliced_in(server: FaultServer, store: Store) -> None:
    cut = serve_file(DATA, cut_first_after=1_500_000)

    def wrong_range(handler: BaseHTTPRequestHandler) -> None:
        if "Range" in handler.headers:  # the right length, from the wrong place
            start = int(handler.headers["Range"].removeprefix("bytes=").rstrip("-"))
            body = DATA[: len(DATA) - start]
            reply(handler, 206, body, {"Content-Range": f"bytes 0-{len(body) - 1}/{len(DATA)}"})
        else:
            cut(handler)

    server.routes["/model.bin"] = wrong_range
    report = fetch(store, job(server.url + "/model.bin"))

    hits = server.hits("/model.bin")
    assert ["Range" in hit.headers for hit in hits] == [False, True, False]
    kept = int(hits[1].headers["Range"].removeprefix("bytes=").rstrip("-"))
    assert report.bytes_downloaded == kept + len(DATA), "the misplaced range body was not even read"
    assert store.blob_path(entry_for(DATA).sha256).read_bytes() == DATA


def test_server_errors_are_retried_then_reported_as_network_errors(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = lambda h: reply(h, 500, b"boom")
    signed = server.url + "/model.bin?X-Goog-Signature=topsecret"
    with pytest.raises(NetworkError, match=r"HTTP 500 \(3 attempts\)") as caught:
        fetch(store, job(signed, headers={"Authorization": SECRET}), retries=2)

    assert len(server.hits("/model.bin")) == 3
    assert caught.value.exit_code == 5
    assert server.url + "/model.bin" in caught.value.message
    assert "topsecret" not in caught.value.message and "s3cret" not in caught.value.message


def test_a_transient_failure_then_success_is_invisible(server: FaultServer, store: Store) -> None:
    answers = iter([503, 502])
    ok = serve_file(DATA)
    server.routes["/model.bin"] = lambda h: reply(h, status) if (status := next(answers, 0)) else ok(h)
    assert fetch(store, job(server.url + "/model.bin")).files == 1
    assert len(server.hits("/model.bin")) == 3


def test_404_is_a_registry_error_without_retries_or_secrets(server: FaultServer, store: Store) -> None:
    with pytest.raises(RegistryError, match=r"answered HTTP 404") as caught:
        fetch(store, job(server.url + "/gone.bin?sig=topsecret"))
    assert len(server.hits("/gone.bin")) == 1
    assert "topsecret" not in str(caught.value)


def test_refused_connections_become_a_network_error_naming_the_url(store: Store) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NetworkError, match=rf"127.0.0.1:{port}/model.bin: the connection failed \(2 attempts"):
        fetch(store, job(f"http://127.0.0.1:{port}/model.bin?token=abc"), retries=1)


# --- redirects and credentials -----------------------------------------------------------


def test_rpc_download_redirects_to_another_origin_without_credentials(
    make_server: Callable[[], FaultServer], store: Store
) -> None:
    api, storage = make_server(), make_server()
    storage.routes["/bucket/model.bin"] = serve_file(DATA)
    signed = f"{storage.url}/bucket/model.bin?X-Goog-Signature=abc"
    api.routes["/api/v1/Download"] = lambda h: reply(h, 302, headers={"Location": signed})
    body = {"ownerSlug": "google", "path": "model.bin"}
    rpc = job(api.url + "/api/v1/Download", method="POST", json=body, headers={"Authorization": SECRET, "X-Key": "k"})

    fetch(store, rpc)

    (call,) = api.hits("/api/v1/Download")
    assert call.method == "POST" and json.loads(call.body) == body
    assert call.headers["Authorization"] == SECRET and call.headers["X-Key"] == "k"
    (download,) = storage.hits("/bucket/model.bin")
    assert download.method == "GET" and download.body == b""
    assert "Authorization" not in download.headers and "X-Key" not in download.headers
    assert store.has(rpc.entry)


def test_a_same_origin_redirect_keeps_the_credentials(server: FaultServer, store: Store) -> None:
    server.routes["/download"] = lambda h: reply(h, 302, headers={"Location": "/files/model.bin"})
    server.routes["/files/model.bin"] = serve_file(DATA)
    fetch(store, job(server.url + "/download", headers={"Authorization": SECRET}))
    assert server.hits("/files/model.bin")[0].headers["Authorization"] == SECRET


# --- stopping ----------------------------------------------------------------------------


def test_the_first_failure_stops_the_other_downloads(make_server: Callable[[], FaultServer], store: Store) -> None:
    server = make_server()
    server.routes["/slow.bin"] = serve_file(DATA, delay=0.2)
    server.routes["/broken.bin"] = lambda h: reply(h, 404)
    started = time.monotonic()
    with pytest.raises(RegistryError):
        fetch(store, job(server.url + "/slow.bin"), job(server.url + "/broken.bin", b"other"), workers=2)

    assert time.monotonic() - started < 2.0, "the slow download was cancelled, not waited for"
    assert not store.has(entry_for(DATA))


class _InterruptAfterFirstChunk(NullProgress):
    def __init__(self, interrupt: Callable[[], None]) -> None:
        self.interrupt = interrupt
        self.fired = False

    def advance(self, label: str, nbytes: int) -> None:
        if nbytes > 0 and not self.fired:
            self.fired = True
            self.interrupt()


def _raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "interrupt",
    # Ctrl-C reaches the main thread, as a terminal's SIGINT does.
    [_raise_keyboard_interrupt, lambda: signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)],
    ids=["in-a-worker", "ctrl-c-in-main-thread"],
)
def test_an_interrupt_leaves_no_blob_and_a_resumable_partial(
    server: FaultServer, store: Store, interrupt: Callable[[], None]
) -> None:
    # Python turns SIGINT into KeyboardInterrupt only when it did not start with SIGINT ignored, and a background
    # job of a shell without job control does start so: give the test the handler an interactive run has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_then_resume(server, store, interrupt)
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_then_resume(server: FaultServer, store: Store, interrupt: Callable[[], None]) -> None:
    server.routes["/model.bin"] = serve_file(DATA, delay=0.05)
    with pytest.raises(KeyboardInterrupt):
        fetch(store, job(server.url + "/model.bin"), progress=_InterruptAfterFirstChunk(interrupt))

    sha = entry_for(DATA).sha256
    assert not store.has(entry_for(DATA))
    assert partial_files(store) == [f"{sha}.json", f"{sha}.part"]

    fetch(store, job(server.url + "/model.bin"))
    assert server.hits("/model.bin")[-1].headers["Range"].startswith("bytes=")
    assert store.blob_path(sha).read_bytes() == DATA


# --- two processes -----------------------------------------------------------------------


def _fetch_in_child(root: str, url: str, barrier: Any, results: Any) -> None:
    barrier.wait(timeout=20)
    report = fetch_all(Store(Path(root)), [job(url)], backoff=0.0)
    results.put((report.files, report.files_reused))


def test_two_processes_fetching_one_blob_download_it_once(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA, delay=0.05)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    children = [
        context.Process(target=_fetch_in_child, args=(str(store.root), server.url + "/model.bin", barrier, results))
        for _ in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=25)
    assert [child.exitcode for child in children] == [0, 0]

    outcomes = sorted(results.get(timeout=1) for _ in children)
    assert outcomes == [(0, 1), (1, 0)], "one process downloaded; the other found the blob after the lock"
    assert len(server.hits("/model.bin")) == 1
    assert hashlib.sha256(store.blob_path(entry_for(DATA).sha256).read_bytes()).hexdigest() == entry_for(DATA).sha256
    results.close()
    results.join_thread()
