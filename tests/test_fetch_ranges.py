"""Large files in parallel byte ranges, against a real local server that misbehaves (``range_server``).

Every case ends in a verified blob or a one-line error with the partial kept: ranges ignored, the
file replaced mid-way, a range answered with the wrong length, a cut connection, a drip, a process
killed with some ranges on disk (then resumed), and Ctrl-C from a real SIGINT.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fetch_faults import FaultServer
from range_server import RangeFile
from test_fetch_interrupt import prompt

from kmenv.errors import IntegrityError, NetworkError, UsageError
from kmenv.fetch import FetchJob, FetchReport, fetch_all
from kmenv.fetch.source import FileSource
from kmenv.fetch.tuning import Tuning
from kmenv.store.blobstore import Store
from kmenv.values.candidates import FileEntry

DATA = random.Random(3).randbytes(4 << 20)
OTHER = random.Random(4).randbytes(4 << 20)
# Split into four connections at once (no measuring window): the ranged machinery itself is under test here;
# tests/test_fetch_adaptive.py tests when a file is split.
SPLIT = Tuning(connections=4, split_size=1 << 20, piece_min=256 << 10, min_speed=1 << 10, window=60.0, adapt_seconds=0)
REPO = Path(__file__).resolve().parent.parent


def entry(data: bytes = DATA) -> FileEntry:
    return FileEntry(path="model.bin", size=len(data), sha256=hashlib.sha256(data).hexdigest())


def fetch(store: Store, server: FaultServer, data: bytes = DATA, **options: object) -> FetchReport:
    options.setdefault("tuning", SPLIT)
    job = FetchJob(FileSource(url=server.url + "/model.bin"), entry(data), "gemma/model.bin")
    return fetch_all(store, [job], backoff=0.0, **options)  # type: ignore[arg-type]


def ranges_asked(server: FaultServer) -> list[str]:
    return [seen.headers.get("Range", "") for seen in server.hits("/model.bin")]


def partial_state(store: Store) -> dict[str, object]:
    sidecars = [p for p in (store.root / "partial").iterdir() if p.suffix == ".json"]
    assert len(sidecars) == 1, sorted(p.name for p in (store.root / "partial").iterdir())
    return dict(json.loads(sidecars[0].read_text()))


def test_a_large_file_arrives_in_parallel_ranges_and_is_verified(server: FaultServer, store: Store) -> None:
    route = RangeFile(DATA, delay=0.002)
    server.routes["/model.bin"] = route
    report = fetch(store, server)

    assert store.blob_path(entry().sha256).read_bytes() == DATA
    asked = ranges_asked(server)
    assert all(re.fullmatch(r"bytes=\d+-\d+", r) for r in asked), asked
    assert len(asked) == len(set(asked)) >= 2, "each range asked for once"
    spans = sorted(tuple(int(n) for n in r.removeprefix("bytes=").split("-")) for r in asked)
    assert spans[0][0] == 0 and spans[-1][1] == len(DATA) - 1
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(spans)), "they tile the file"
    assert route.most_in_flight >= 2, "ranges run in parallel"
    assert route.most_in_flight <= SPLIT.connections
    assert report.bytes_downloaded == len(DATA), "no byte received twice"
    assert sorted(p.name for p in (store.root / "partial").iterdir()) == []


def test_pieces_are_asked_for_in_file_order_and_shrink_toward_the_end(server: FaultServer, store: Store) -> None:
    # sha256 follows the file in order: pieces taken front to back, ever smaller, let the hashing keep pace
    data = random.Random(9).randbytes(24 << 20)
    server.routes["/model.bin"] = RangeFile(data, delay=0.001)
    fetch(store, server, data)
    spans = sorted(tuple(int(n) for n in r.removeprefix("bytes=").split("-")) for r in ranges_asked(server))
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(spans)), "they tile the file"
    sizes = [end + 1 - start for start, end in spans]
    assert len(sizes) > SPLIT.connections, spans
    assert sizes[0] == max(sizes) and sizes[-1] < sizes[0] / 2, sizes  # the front gets the big pieces


def test_small_files_are_not_split(server: FaultServer, store: Store) -> None:
    small = DATA[: 512 << 10]
    server.routes["/model.bin"] = RangeFile(small)
    fetch(store, server, small)
    assert ranges_asked(server) == [""]


def test_a_server_that_ignores_ranges_gets_one_plain_stream(server: FaultServer, store: Store) -> None:
    route = RangeFile(DATA, ranges=False)
    server.routes["/model.bin"] = route
    fetch(store, server)

    assert store.blob_path(entry().sha256).read_bytes() == DATA
    assert route.requests == 1, "the 200 answering the first range is used as the whole file"
    assert route.sent == len(DATA)


@pytest.mark.parametrize("if_range", [True, False], ids=["if-range-honoured", "if-range-ignored"])
def test_a_file_replaced_mid_way_restarts_cleanly(server: FaultServer, store: Store, if_range: bool) -> None:
    # The first reply carries an older file; then the server has the one the registry recorded.
    route = RangeFile(OTHER, etag='"old"', if_range=if_range, replace_after=1, replacement=DATA, delay=0.001)
    server.routes["/model.bin"] = route
    fetch(store, server)

    assert store.blob_path(entry().sha256).read_bytes() == DATA, "no old range spliced in"
    asked = ranges_asked(server)
    assert asked.count(asked[0]) == 2, "the first range asked again after the restart"


def test_a_file_replaced_by_wrong_bytes_fails_verification_and_keeps_nothing(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = RangeFile(DATA, replace_after=2, replacement=OTHER)
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        fetch(store, server)
    assert not store.has(entry())
    assert list((store.root / "partial").iterdir()) == []


def test_a_range_reply_of_the_wrong_length_is_asked_again(server: FaultServer, store: Store) -> None:
    route = RangeFile(DATA, wrong_length_next=2)
    server.routes["/model.bin"] = route
    fetch(store, server)

    assert store.blob_path(entry().sha256).read_bytes() == DATA
    starts = [r[6:].split("-")[0] for r in ranges_asked(server)]
    assert len(route.starts) == 2
    assert all(starts.count(str(start)) == 2 for start in route.starts), "each refused range asked again"


def test_a_cut_range_resumes_where_its_bytes_stop(server: FaultServer, store: Store) -> None:
    route = RangeFile(DATA, cut_next=100_000)
    server.routes["/model.bin"] = route
    report = fetch(store, server)

    assert store.blob_path(entry().sha256).read_bytes() == DATA
    (cut,) = route.starts
    assert any(r.startswith(f"bytes={cut + 100_000}-") for r in ranges_asked(server)), "resumed where it stopped"
    assert report.bytes_downloaded == len(DATA), "no byte received twice"


def test_a_wrong_total_is_an_integrity_error(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = RangeFile(DATA + b"extra")
    with pytest.raises(IntegrityError, match="size mismatch"):
        fetch(store, server)


def test_a_dripping_server_fails_with_one_line_and_keeps_the_partial(server: FaultServer, store: Store) -> None:
    server.routes["/model.bin"] = RangeFile(DATA, chunk=1, delay=0.05)  # 20 bytes a second per range
    slow = replace(SPLIT, window=1.0)
    started = time.monotonic()
    with pytest.raises(NetworkError) as caught:
        fetch(store, server, tuning=slow)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "stalled" in message and "\n" not in message and "KMENV_MIN_SPEED" in caught.value.hint
    assert partial_state(store)["ranges"], "what arrived is kept for a resume"


def test_a_download_never_accepts_more_than_the_declared_size(server: FaultServer, store: Store) -> None:
    small = DATA[: 512 << 10]
    server.routes["/model.bin"] = RangeFile(small + b"more")  # announced as the longer file, one stream
    with pytest.raises(IntegrityError, match="size mismatch"):
        fetch(store, server, small)
    assert not store.has(entry(small))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KMENV_CONNECTIONS", "0"),
        ("KMENV_CONNECTIONS", "²"),
        ("KMENV_CONNECTIONS", "9" * 5000),
        ("KMENV_SPLIT_SIZE", "12Q"),
        ("KMENV_MIN_SPEED", "-1"),
        ("KMENV_SPEED_WINDOW", "0"),
    ],
)
def test_bad_settings_are_usage_errors_naming_the_variable(
    server: FaultServer, store: Store, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError) as caught:
        fetch(store, server, tuning=None)
    assert caught.value.exit_code == 2 and name in str(caught.value) and len(str(caught.value)) < 200


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMENV_CONNECTIONS", "3")
    monkeypatch.setenv("KMENV_SPLIT_SIZE", "2M")
    monkeypatch.setenv("KMENV_MIN_SPEED", "10k")
    monkeypatch.setenv("KMENV_SPEED_WINDOW", " ")
    tuning = Tuning.from_env()
    assert (tuning.connections, tuning.split_size, tuning.min_speed, tuning.window) == (3, 2 << 20, 10 << 10, 60.0)


# --- real processes: SIGKILL with ranges on disk, then resume; Ctrl-C ----------------------------

_CHILD = textwrap.dedent(
    """
    import signal, sys
    from pathlib import Path
    from kmenv.fetch import FetchJob, fetch_all
    from kmenv.fetch.source import FileSource
    from kmenv.store.blobstore import Store
    from kmenv.values.candidates import FileEntry
    root, url, size, sha = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    job = FetchJob(FileSource(url=url), FileEntry("model.bin", size, sha), "gemma/model.bin")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    print("started", flush=True)
    try:
        fetch_all(Store(Path(root)), [job])
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


def _child(store: Store, server: FaultServer) -> subprocess.Popen[str]:
    env = {**os.environ, "KMENV_CONNECTIONS": "4", "KMENV_SPLIT_SIZE": "1M"}
    args = [str(store.root), server.url + "/model.bin", str(len(DATA)), entry().sha256]
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _recorded(store: Store) -> int:
    """Bytes a ranged download has recorded as on disk (in its private temp file's sidecar)."""
    total = 0
    for sidecar in (store.root / "partial").glob("*.tmp.json") if (store.root / "partial").exists() else ():
        with contextlib.suppress(OSError, ValueError):  # a sidecar being replaced right now
            total = max(total, sum(e - s for s, e in json.loads(sidecar.read_text()).get("ranges", [])))
    return total


def test_a_process_killed_with_ranges_on_disk_resumes_them(server: FaultServer, store: Store) -> None:
    route = RangeFile(DATA, delay=0.01, chunk=16 << 10)  # ~1.6 MB/s per range
    server.routes["/model.bin"] = route
    with _child(store, server) as child:
        deadline = time.monotonic() + 30
        while _recorded(store) < len(DATA) // 3 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
    kept = _recorded(store)
    assert len(DATA) // 3 <= kept < len(DATA), "killed with some ranges done"

    first_run_requests = route.requests
    route.delay, route.sent = 0.0, 0
    fetch(store, server, tuning=SPLIT)
    assert store.blob_path(entry().sha256).read_bytes() == DATA
    resent = route.sent
    assert resent <= len(DATA) - kept + len(DATA) // 10, f"re-sent {resent} of {len(DATA)} with {kept} kept"
    resumed = ranges_asked(server)[first_run_requests:]
    assert all(re.fullmatch(r"bytes=\d+-\d*", r) for r in resumed) and resumed


def test_ctrl_c_stops_a_ranged_download_within_a_second_and_keeps_the_partial(
    server: FaultServer, store: Store
) -> None:
    server.routes["/model.bin"] = RangeFile(DATA, delay=0.05, chunk=4 << 10)  # slow: minutes for the file
    with _child(store, server) as child:
        assert child.stdout is not None and child.stdout.readline() == "started\n"
        deadline = time.monotonic() + 20
        while _recorded(store) < 64 << 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=10)
        stopped = time.monotonic() - sent
        errors = child.stderr.read() if child.stderr else ""
    assert prompt(stopped), f"stopped within a second, not {stopped:.2f} s"
    assert code == 130, errors
    assert partial_state(store)["ranges"], "the ranges received are kept for a resume"


def test_a_retried_piece_is_taken_whole_with_its_failures() -> None:
    # cutting it would hand its front to a request with no failures counted and no retry delay
    from collections import deque

    from kmenv.fetch.pieces import Piece, take

    failed = Piece(0, 64 << 20, failures=1)  # failed before its first byte
    fresh = Piece(64 << 20, 128 << 20)
    pending = deque([failed, fresh])
    assert take(pending, 16, 1 << 20) is failed
    piece = take(pending, 16, 1 << 20)
    assert (piece.start, piece.failures) == (64 << 20, 0) and piece.end < 128 << 20, "a fresh range is cut"
