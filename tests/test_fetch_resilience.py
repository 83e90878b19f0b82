"""More faults from the local server: slow trickles, stalls, bodies cut short every time, long 5xx bursts.

Each test bounds its own time (short timeouts, no backoff), so the file stays fast.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest
from fetch_faults import FaultServer, reply, serve_file

from kmenv.errors import IntegrityError, NetworkError
from kmenv.fetch import FetchJob, NullProgress, fetch_all, http
from kmenv.fetch.source import FileSource
from kmenv.store.blobstore import Store
from kmenv.values.candidates import FileEntry

DATA = bytes(range(256)) * 9000  # ~2.2 MiB
ENTRY = FileEntry("model.bin", len(DATA), hashlib.sha256(DATA).hexdigest())


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "TIMEOUT", (2.0, 0.5))


def fetch(store: Store, server: FaultServer, **options: object) -> object:
    job = FetchJob(FileSource(server.url + "/model.bin"), ENTRY, "m/model.bin")
    return fetch_all(store, [job], backoff=0.0, **options)  # type: ignore[arg-type]


def test_a_slow_trickle_completes_and_reports_progress_along_the_way(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA, chunk=64 << 10, delay=0.01)
    seen: list[int] = []

    class Count(NullProgress):
        def advance(self, label: str, nbytes: int) -> None:
            seen.append(nbytes)

    fetch(store, server, progress=Count())
    assert store.has(ENTRY)
    assert sum(seen) == len(DATA) and len(seen) >= 2


def test_a_stalled_server_times_out_and_the_retry_resumes(
    server: FaultServer, store: Store, short_timeouts: None
) -> None:
    calls = {"n": 0}
    good = serve_file(DATA)

    def stalls_first(handler: BaseHTTPRequestHandler) -> None:
        calls["n"] += 1
        if calls["n"] > 1:
            return good(handler)
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(DATA)))
        handler.send_header("ETag", '"v1"')
        handler.send_header("Accept-Ranges", "bytes")
        handler.end_headers()
        handler.wfile.write(DATA[: 1 << 20])
        handler.wfile.flush()
        time.sleep(1.5)  # then nothing: the client's read timeout fires

    server.routes["/model.bin"] = stalls_first
    fetch(store, server)
    assert store.has(ENTRY)
    assert server.hits("/model.bin")[1].headers["Range"] == f"bytes={1 << 20}-"


def test_a_body_cut_short_every_time_is_a_network_error_that_keeps_the_bytes(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA, cut_first_after=1_100_000, cut_times=99, ranges=False)
    with pytest.raises(
        NetworkError, match=r"m/model\.bin: could not download .* the connection (dropped|closed)"
    ) as caught:
        fetch(store, server, retries=2)
    assert caught.value.exit_code == 5
    assert len(server.hits("/model.bin")) == 3
    assert not store.has(ENTRY)
    assert sorted(p.suffix for p in (store.root / "partial").iterdir()) == [".json", ".part"], "kept for next time"


def test_after_a_5xx_burst_longer_than_the_retries_the_next_run_resumes(server: FaultServer, store: Store) -> None:
    answers: list[int] = []
    first = serve_file(DATA, cut_first_after=1_200_000)
    later = serve_file(DATA)

    def route(handler: BaseHTTPRequestHandler) -> None:
        answers.append(1)
        n = len(answers)
        if n == 1:
            first(handler)
        elif n <= 4:
            reply(handler, 503, b"busy")
        else:
            later(handler)

    server.routes["/model.bin"] = route
    with pytest.raises(NetworkError, match=r"HTTP 503 \(4 attempts, resuming where each stopped\)"):
        fetch(store, server, retries=3)
    fetch(store, server)
    last = server.hits("/model.bin")[-1]
    assert last.headers["Range"] == "bytes=1200000-", "every byte received is kept"
    assert last.headers["If-Range"] == '"v1"'
    assert store.has(ENTRY)


def test_a_changed_file_on_the_server_is_not_spliced_onto_old_bytes(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = serve_file(DATA, cut_first_after=1_200_000, etag='"old"')
    with pytest.raises(NetworkError):
        fetch(store, server, retries=0)
    server.routes["/model.bin"] = serve_file(DATA, etag='"new"')  # If-Range no longer matches: a 200
    fetch(store, server)
    last = server.hits("/model.bin")[-1]
    assert last.headers["If-Range"] == '"old"'
    assert store.blob_path(ENTRY.sha256).read_bytes() == DATA


def test_an_x_goog_hash_md5_that_disagrees_is_an_integrity_error(server: FaultServer, store: Store) -> None:
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    server.routes["/model.bin"] = serve_file(DATA, headers={"x-goog-hash": f"md5={wrong}"})
    with pytest.raises(IntegrityError, match=r"m/model\.bin: md5 mismatch"):
        fetch(store, server)
    assert not store.has(ENTRY)


def test_a_matching_x_goog_hash_is_recorded_in_the_digest_index(server: FaultServer, store: Store) -> None:
    md5 = base64.b64encode(hashlib.md5(DATA).digest()).decode()
    server.routes["/model.bin"] = serve_file(DATA, headers={"x-goog-hash": f"crc32c=AAAAAA==, md5={md5}"})
    fetch(store, server)
    assert store.lookup_digest("md5", md5) == ENTRY.sha256


def test_many_small_files_share_connections(server: FaultServer, store: Store) -> None:
    files = {f"/f{i}.bin": bytes([i]) * (1000 + i) for i in range(40)}
    ports: set[int] = set()
    for path, data in files.items():
        route = serve_file(data)

        def noting(handler: BaseHTTPRequestHandler, route: Callable[[BaseHTTPRequestHandler], None] = route) -> None:
            ports.add(handler.client_address[1])
            route(handler)

        server.routes[path] = noting
    jobs = [
        FetchJob(FileSource(server.url + path), FileEntry(path, len(d), hashlib.sha256(d).hexdigest()), path)
        for path, d in files.items()
    ]
    report = fetch_all(store, jobs, workers=4, backoff=0.0)
    assert report.files == 40
    assert len(ports) <= 4, "at most one connection per worker, reused for every file"
