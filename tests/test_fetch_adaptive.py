"""When a large file is split: one stream where one connection is enough, several where each is capped.

The decisions (:class:`~kmenv.fetch.adapt.Growth`) are tested on numbers, then end to end against
real servers: the suite's range server and nginx, plain and with ``limit_rate`` per connection (a
CDN's cap, as ``bench/bench_download.py`` serves it). Requests are counted from the servers' own logs.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fetch_faults import FaultServer
from range_server import RangeFile

from kmenv.fetch import FetchJob, fetch_all
from kmenv.fetch.adapt import Growth
from kmenv.fetch.source import FileSource
from kmenv.fetch.tuning import Tuning
from kmenv.store.blobstore import Store
from kmenv.values.candidates import FileEntry

MiB = 1 << 20
ADAPTIVE = Tuning(connections=4, split_size=MiB, piece_min=256 << 10, adapt_seconds=0.25, split_after=1.0)
# Where one request is expected: a horizon that even a heavily loaded machine's local server stays inside.
PATIENT = replace(ADAPTIVE, split_after=3.0)


# --- the decisions ---------------------------------------------------------------------------------


def test_a_file_that_arrives_fast_stays_one_stream() -> None:
    growth = Growth(16, window=0.25, horizon=2.0)
    assert growth.update(0.0, 0, 1000 * MiB, flowing=0) == 1, "the clock starts with the first byte"
    growth.update(0.05, 10 * MiB, 990 * MiB)
    assert growth.update(0.15, 60 * MiB, 940 * MiB) == 1, "no decision before the window is over"
    assert growth.update(0.35, 310 * MiB, 690 * MiB) == 1, "1 GB/s: the rest takes under a second"
    assert growth.update(5.0, 310 * MiB, 690 * MiB) == 1, "decided once and for all"
    assert [round(r / MiB) for r in growth.rates] == [1000]


def test_a_capped_connection_gets_a_second_then_every_one() -> None:
    growth = Growth(16, window=0.25, horizon=2.0)
    growth.update(0.0, 0, 512 * MiB)
    assert growth.update(0.25, 6 * MiB, 506 * MiB) == 2, "25 MB/s: 20 s left, so a second connection"
    assert growth.update(0.4, 10 * MiB, 502 * MiB, flowing=1) == 2, "its window waits for its first byte"
    growth.update(0.5, 12 * MiB, 500 * MiB, flowing=2)
    assert growth.update(0.6, 14 * MiB, 498 * MiB, flowing=2) == 2
    assert growth.update(0.75, 24 * MiB, 488 * MiB, flowing=2) == 16, "twice the speed: every connection allowed"
    assert growth.update(1.5, 200 * MiB, 312 * MiB, flowing=16) == 16, "never past the most allowed"


def test_a_borderline_first_window_is_measured_longer() -> None:
    growth = Growth(16, window=0.1, horizon=4.0)
    growth.update(0.0, 0, 2048 * MiB)
    assert growth.update(0.1, 30 * MiB, 2018 * MiB) == 1, "300 MB/s: 7 s left, borderline: look again"
    assert growth.update(0.2, 60 * MiB, 1988 * MiB) == 1, "still borderline"
    assert growth.update(0.4, 330 * MiB, 1718 * MiB) == 1, "825 MB/s over 0.4 s: the rest fits the horizon"
    assert growth.update(3.0, 2000 * MiB, 48 * MiB) == 1, "decided"
    late = Growth(16, window=0.1, horizon=4.0)
    late.update(0.0, 0, 2048 * MiB)
    assert late.update(0.1, 30 * MiB, 2018 * MiB) == 1
    assert late.update(0.4, 120 * MiB, 1928 * MiB) == 2, "still 300 MB/s after four windows: split"


def test_growth_stops_when_more_connections_buy_no_speed() -> None:
    growth = Growth(16, window=0.25, horizon=2.0)
    growth.update(0.0, 0, 512 * MiB)
    assert growth.update(0.25, 2 * MiB, 510 * MiB) == 2, "8 MB/s: a minute left"
    growth.update(0.3, 2 * MiB, 510 * MiB, flowing=2)
    assert growth.update(0.55, 4 * MiB, 508 * MiB, flowing=2) == 2, "the link, not the connection, is the limit"
    assert growth.update(2.0, 16 * MiB, 496 * MiB, flowing=2) == 2


def test_no_window_means_every_connection_at_once() -> None:
    assert Growth(8, window=0, horizon=2.0).connections == 8


# --- end to end: the suite's range server ----------------------------------------------------------


def _entry(data: bytes) -> FileEntry:
    return FileEntry(path="model.bin", size=len(data), sha256=hashlib.sha256(data).hexdigest())


def _fetch(store: Store, url: str, data: bytes, tuning: Tuning) -> float:
    started = time.monotonic()
    fetch_all(store, [FetchJob(FileSource(url=url), _entry(data), "m/model.bin")], backoff=0.0, tuning=tuning)
    assert store.blob_path(_entry(data).sha256).read_bytes() == data
    return time.monotonic() - started


def test_a_fast_server_gets_one_request(server: FaultServer, store: Store) -> None:
    data = random.Random(5).randbytes(16 * MiB)
    route = RangeFile(data)
    server.routes["/model.bin"] = route
    _fetch(store, server.url + "/model.bin", data, PATIENT)
    assert [h.headers.get("Range") for h in server.hits("/model.bin")] == ["bytes=0-"]
    assert route.sent == len(data)


def test_a_slow_connection_is_joined_by_others(server: FaultServer, store: Store) -> None:
    data = random.Random(6).randbytes(8 * MiB)
    route = RangeFile(data, chunk=64 << 10, delay=0.02)  # about 3 MB/s per connection: 2.7 s alone
    server.routes["/model.bin"] = route
    _fetch(store, server.url + "/model.bin", data, ADAPTIVE)
    asked = [h.headers.get("Range") for h in server.hits("/model.bin")]
    assert asked[0] == "bytes=0-", "it starts as one stream"
    assert 2 <= len(asked) <= 2 * ADAPTIVE.connections, asked
    assert route.most_in_flight >= 2


# --- end to end: nginx, plain and capped per connection ---------------------------------------------


@dataclass(frozen=True)
class Nginx:
    plain: str
    capped: str
    log: Path

    def requests(self, port_url: str) -> int:
        port = port_url.rsplit(":", 1)[1].split("/")[0]
        return sum(1 for line in self.log.read_text().splitlines() if line.split()[0] == port)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Nginx, bytes]]:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    root = tmp_path_factory.mktemp("nginx")
    data = random.Random(8).randbytes(12 * MiB)
    (root / "www").mkdir()
    (root / "www" / "model.bin").write_bytes(data)
    plain, capped = _free_port(), _free_port()
    (root / "tmp").mkdir()
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the test's private temp folder
    (root / "nginx.conf").write_text(
        f"""
{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format counted '$server_port $request_uri $status $body_bytes_sent';
    access_log {root}/access.log counted;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    server {{ listen 127.0.0.1:{plain}; root {root}/www; }}
    server {{ listen 127.0.0.1:{capped}; root {root}/www; limit_rate 3m; }}
}}
"""
    )
    proc = subprocess.Popen([binary, "-c", str(root / "nginx.conf"), "-p", str(root)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as a, socket.socket() as b:
                if a.connect_ex(("127.0.0.1", plain)) == 0 and b.connect_ex(("127.0.0.1", capped)) == 0:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.skip(f"nginx did not start: {(root / 'error.log').read_text()[-500:]}")
            time.sleep(0.05)
        yield Nginx(f"http://127.0.0.1:{plain}", f"http://127.0.0.1:{capped}", root / "access.log"), data
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_plain_nginx_serves_a_large_file_in_one_request(nginx: tuple[Nginx, bytes], tmp_path: Path) -> None:
    server, data = nginx
    before = server.requests(server.plain)
    _fetch(Store(tmp_path / "cache"), server.plain + "/model.bin", data, PATIENT)
    assert server.requests(server.plain) - before == 1


def test_nginx_capping_each_connection_gets_several_and_is_faster(nginx: tuple[Nginx, bytes], tmp_path: Path) -> None:
    server, data = nginx
    before = server.requests(server.capped)
    seconds = _fetch(Store(tmp_path / "cache"), server.capped + "/model.bin", data, ADAPTIVE)
    made = server.requests(server.capped) - before
    alone = len(data) / (3 * MiB)  # 4 s on one connection
    assert 2 <= made <= 2 * ADAPTIVE.connections, made
    assert seconds < 0.75 * alone, f"{seconds:.1f} s with {made} requests; one stream takes {alone:.1f} s"
