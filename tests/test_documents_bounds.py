"""Every JSON document kmenv reads is bounded: hostile locks, registry documents and state files end in one
located line with the right exit code, quickly, with short output.

Real files (folders, FIFOs, symlinks to ``/dev/zero``), real HTTP servers that never stop or drip one byte at a
time, and the CLI as a user runs it. Before these bounds the same inputs hung, ran out of memory, recursed, raised
the int-conversion ``ValueError`` or a ``KeyError``, or printed megabytes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import Result, Runner
from fetch_faults import FaultServer, reply, serve_folder, write_project

from kmenv.errors import (
    EXIT_REGISTRY,
    EXIT_USAGE,
    MAX_LINE_CHARS,
    MAX_PROBLEMS_SHOWN,
    KmenvError,
    NetworkError,
    RegistryDocumentError,
    RegistryError,
    UsageError,
    clip_text,
)
from kmenv.fs.bounded import NotAFileError, TooLargeError, read_capped, read_json_file
from kmenv.registry.kaggle.mapping import load_framework_table
from kmenv.registry.static.registry import StaticRegistry
from kmenv.values.documents import DEFAULT_MAX_DEPTH, MAX_NUMBER_CHARS, DocumentRefused, JsonBounds, parse_json
from kmenv.values.handles import Handle
from kmenv.values.paths import MAX_PATH_BYTES, NAME_MAX, model_name_problem, relative_path_problem

SECONDS = 20.0  # generous: each case takes well under a second on an idle machine
BOUNDS = JsonBounds(1024 * 1024)


@contextmanager
def quick(limit: float = SECONDS) -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < limit


def one_line(result: Result, code: int, *words: str) -> str:
    """``code``, one error line and a hint, no traceback, each word in the error line."""
    assert result.code == code, result.err[:2000]
    lines = result.err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), lines[:5]
    assert "Traceback" not in result.err and "unexpected failure" not in result.err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- the bounded JSON reader ---------------------------------------------------------------------------------------

HOSTILE = {
    "nested past the depth cap": ("[" * 100_000 + "]" * 100_000, "1:65", "nested more than 64 levels"),
    "an object nested one past the cap": ('{"a":' * 65 + "1" + "}" * 65, "1:321", "nested more than 64"),
    "a 5,000-digit number": ('{"size":\n  ' + "9" * 5000 + "}", "2:3", "a number of 5,000 characters"),
    "a long negative exponent": ("[1e-" + "0" * 200 + "1]", "1:2", "a number of 204 characters"),
    "NaN": ('{"size": NaN}', "1:10", "NaN is not a finite number"),
    "-Infinity": ("[1,\n -Infinity]", "2:2", "-Infinity is not a finite number"),
    "1e400 (infinite as a float)": ('{"a": "1e400", "b": 1e400}', "1:21", "1e400 is not a finite number"),
    "a key given twice": ('{"models": {"a": {"x": 1},\n "a": {}}}', "2:2", 'the key "a" appears twice'),
    "a key twice inside a nested object": ('{"m": {"f": [{"p": 1, "p": 2}]}}', "1:23", 'the key "p" appears twice'),
    "invalid JSON": ('{"a": }', "1:7", "not valid JSON (Expecting value)"),
    "an unclosed string": ('{"a": "b', "1:7", "not valid JSON"),
    "unbalanced brackets": ("[[[}", "1:4", "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_json_is_refused_with_its_place(case: str) -> None:
    text, place, words = HOSTILE[case]
    with quick(), pytest.raises(DocumentRefused) as caught:
        parse_json(text, BOUNDS)
    assert caught.value.place("f.json") == f"f.json:{place}"
    assert words in caught.value.message and caught.value.hint
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    ("data", "place", "words"),
    [
        ('{"a": 1}'.encode("utf-16"), "1:1", "UTF-16"),
        ('{"a": 1}'.encode("utf-16-be"), "1:1", "not valid JSON"),  # no BOM: NUL bytes are no JSON
        (b'{"a":\n "\xff"}', "2:3", "not UTF-8"),
        (b"x" * (BOUNDS.max_bytes + 1), None, "larger than 1,048,576 bytes"),
    ],
)
def test_bytes_that_are_not_utf8_json_are_refused(data: bytes, place: str | None, words: str) -> None:
    with pytest.raises(DocumentRefused) as caught:
        parse_json(data, BOUNDS)
    assert caught.value.place("f") == ("f" if place is None else f"f:{place}") and words in caught.value.message


def test_what_stays_within_the_bounds_reads_as_json_does() -> None:
    text = '\ufeff{"a": [' + "[" * (DEFAULT_MAX_DEPTH - 2) + "]" * (DEFAULT_MAX_DEPTH - 2) + '], "b": "[[[{{{", '
    text += f'"c": {"9" * MAX_NUMBER_CHARS}, "d": -1.5e300, "e": "\\"]]]"' + "}"
    assert parse_json(text, BOUNDS) == json.loads(text.removeprefix("\ufeff"))
    assert parse_json(b'\xef\xbb\xbf{"x": 1}', BOUNDS) == {"x": 1}  # a UTF-8 byte-order mark is allowed


def test_a_large_lock_sized_document_parses_in_about_the_time_json_takes() -> None:
    files = [{"path": f"f{j}", "size": j, "sha256": "a" * 64, "digests": {"md5": "x"}} for j in range(5)]
    doc = {"models": {f"m{i}": {"handle": f"o/m{i}/pyTorch/v", "files": files} for i in range(20_000)}}
    text = json.dumps(doc, indent=2)  # about 13 MB
    started = time.monotonic()
    json.loads(text)
    plain = time.monotonic() - started
    started = time.monotonic()
    assert parse_json(text, JsonBounds(64 << 20)) == doc
    assert time.monotonic() - started < 5 * plain + 2.0


# -- the capped file reader ----------------------------------------------------------------------------------------


def test_the_file_reader_refuses_folders_fifos_devices_and_files_past_the_cap(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")  # nobody writes: a blocking open would wait for good
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "big").write_bytes(b"x" * 11)
    with quick():
        for name, kind in (("folder", "a folder"), ("fifo", "a named pipe (FIFO)"), ("zero", "a device")):
            with pytest.raises(NotAFileError) as caught:
                read_capped(tmp_path / name, 10)
            assert caught.value.kind == kind
        with pytest.raises(TooLargeError) as too_large:
            read_capped(tmp_path / "big", 10)
        assert too_large.value.head == b"x" * 11
    assert read_capped(tmp_path / "missing", 10) is None
    assert read_capped(tmp_path / "big" / "below-a-file", 10) is None
    with pytest.raises(DocumentRefused, match="it is a device, not a file"):
        read_json_file(tmp_path / "zero", BOUNDS)


# -- kmodels.lock through the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def locked(kmenv: Runner, example: Path) -> Path:
    """The example project, installed: kmodels.lock and .kmenv/state.json exist."""
    assert kmenv("-C", example, "install").code == 0
    return example


def rewrite_lock(project: Path, change: Callable[[dict[str, object]], None]) -> None:
    data = json.loads((project / "kmodels.lock").read_text())
    change(data)
    (project / "kmodels.lock").write_text(json.dumps(data, indent=2))


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: p.mkdir(), "a folder"),
        (lambda p: p.symlink_to("/dev/zero"), "a device"),
        (lambda p: os.mkfifo(p), "a named pipe (FIFO)"),
    ],
    ids=["folder", "symlink-to-dev-zero", "fifo"],
)
def test_a_lock_that_is_not_a_file_is_one_line_for_every_command(
    make: Callable[[Path], None], kind: str, kmenv: Runner, locked: Path
) -> None:
    lock = locked / "kmodels.lock"
    lock.unlink()
    make(lock)
    for command in ("install", "list", "check", "outdated"):  # install: the fast path reads the lock first
        with quick():
            result = kmenv("-C", locked, command)
        one_line(result, EXIT_USAGE, f"{lock}: it is {kind}, not a file")


def test_lock_replaces_a_lock_that_is_dev_zero_and_refuses_to_write_over_a_folder(kmenv: Runner, locked: Path) -> None:
    lock = locked / "kmodels.lock"
    lock.unlink()
    lock.symlink_to("/dev/zero")
    with quick():
        assert kmenv("-C", locked, "lock").code == 0  # a damaged lock is replaced by a fresh resolution
    assert lock.is_file() and not lock.is_symlink() and json.loads(lock.read_text())["lock-version"] == 1
    lock.unlink()
    lock.mkdir()
    one_line(kmenv("-C", locked, "lock"), EXIT_USAGE, f"{lock} is a folder, not a file")


def test_a_lock_past_the_size_cap_is_read_no_further(kmenv: Runner, locked: Path) -> None:
    lock = locked / "kmodels.lock"
    lock.unlink()
    with lock.open("wb") as file:
        file.truncate(8 * 1024**3)  # 8 GiB of zeros, sparse
    for command in ("install", "list"):
        with quick():
            one_line(kmenv("-C", locked, command), EXIT_USAGE, "larger than 64 MiB")


def lock_text(project: Path) -> str:
    return (project / "kmodels.lock").read_text()


def put_text(project: Path, text: str | bytes) -> None:
    path = project / "kmodels.lock"
    path.write_bytes(text.encode() if isinstance(text, str) else text)


BROKEN_LOCKS: dict[str, tuple[Callable[[str], str | bytes], str]] = {
    "a model locked twice": (
        lambda t: t.replace('"models": {\n    "adder": {', '"models": {\n    "bert": {},\n    "adder": {', 1),
        'the key "bert" appears twice in one object',
    ),
    "NaN as a size": (lambda t: re.sub(r'"size": \d+', '"size": NaN', t, count=1), "NaN is not a finite number"),
    "1e400 as a size": (lambda t: re.sub(r'"size": \d+', '"size": 1e400', t, count=1), "1e400 is not a finite"),
    "a 5,000-digit version": (
        lambda t: re.sub(r'"version": \d+', '"version": ' + "7" * 5000, t, count=1),
        "a number of 5,000 characters",
    ),
    "nesting without end": (
        lambda t: t.replace('"policy": {', '"policy": {"deep": ' + "[" * 5000 + "]" * 5000 + ",", 1),
        "nested more than 64 levels deep",
    ),
    "UTF-16": (lambda t: t.encode("utf-16"), "the file is UTF-16 text"),
    "invalid UTF-8": (
        lambda t: t.replace('"direct": true', '"direct": "\udcff"', 1).encode("utf-8", "surrogateescape"),
        "not UTF-8",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_LOCKS))
def test_a_hostile_lock_is_one_located_line(case: str, kmenv: Runner, locked: Path) -> None:
    breakage, words = BROKEN_LOCKS[case]
    put_text(locked, breakage(lock_text(locked)))
    for command in ("list", "install"):
        with quick():
            line = one_line(kmenv("-C", locked, command), EXIT_USAGE, words)
        assert re.match(rf"error: {re.escape(str(locked / 'kmodels.lock'))}:\d+:\d+: ", line), line


def test_the_place_of_a_model_locked_twice_is_its_second_key(kmenv: Runner, locked: Path) -> None:
    text = lock_text(locked)
    second = text.index('"bert": {', text.index('"models": {', text.index('"policy"')))
    put_text(locked, text.replace('"models": {\n    "adder": {', '"models": {\n    "bert": {},\n    "adder": {', 1))
    line = one_line(kmenv("-C", locked, "list"), EXIT_USAGE)
    moved = text[:second].count("\n") + 1 + 1  # one line was added above it
    assert f"kmodels.lock:{moved}:5:" in line


def test_a_lock_naming_an_undeclared_registry_is_a_usage_error(kmenv: Runner, locked: Path) -> None:
    def elsewhere(data: dict[str, object]) -> None:
        data["inputs"]["registries"]["other"] = {"type": "static", "url": "../elsewhere"}  # type: ignore[index]
        data["models"]["bert"]["registry"] = "other"  # type: ignore[index]

    rewrite_lock(locked, elsewhere)
    shutil.rmtree(os.environ["KMENV_CACHE_DIR"])  # nothing in the store: --frozen must ask the lock's registries
    shutil.rmtree(locked / ".kmenv")  # and no kept generation already holds the files
    with quick():
        one_line(kmenv("-C", locked, "install", "--frozen"), EXIT_USAGE, "names the registry 'other'")


def test_a_locked_model_whose_registry_the_lock_does_not_record_is_refused(kmenv: Runner, locked: Path) -> None:
    rewrite_lock(locked, lambda d: d["models"]["bert"].update(registry="nowhere"))  # type: ignore[index]
    one_line(kmenv("-C", locked, "list"), EXIT_USAGE, "models.bert.registry: 'nowhere' is not among inputs.registries")


def test_names_and_paths_past_the_filesystem_limits_are_refused_up_front(kmenv: Runner, locked: Path) -> None:
    long_name = "m" * (NAME_MAX + 1)

    def rename(data: dict[str, object]) -> None:
        models = data["models"]  # type: ignore[assignment]
        models[long_name] = models.pop("iris")  # type: ignore[index, attr-defined]
        data["inputs"]["models"][long_name] = data["inputs"]["models"].pop("iris")  # type: ignore[index]

    rewrite_lock(locked, rename)
    result = kmenv("-C", locked, "install", "--frozen")
    assert result.code == EXIT_USAGE and f"inputs.models.{long_name[:40]}" in result.err, result.err
    assert "a file or folder name holds at most 255" in result.err and len(result.err) < 3000
    rewrite_lock(locked, lambda d: d["models"][long_name]["files"][0].update(path="d/" + "p" * 300))  # type: ignore[index]
    result = kmenv("-C", locked, "list")
    assert result.code == EXIT_USAGE and "File name too long" not in result.err


def test_a_lock_with_150k_problems_prints_a_screenful(kmenv: Runner, locked: Path) -> None:
    rewrite_lock(locked, lambda d: d.update(models={f"m{i}": 1 for i in range(150_000)}))
    with quick(60):
        result = kmenv("-C", locked, "list")
    assert result.code == EXIT_USAGE
    lines = result.err.splitlines()
    assert len(result.err) < 20_000 and len(lines) == MAX_PROBLEMS_SHOWN + 3, lines[:3]
    assert lines[-2] == f"  ... and {150_000 - MAX_PROBLEMS_SHOWN} more problems (fix these and run again to see them)"


# -- state.json ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.symlink_to("/dev/zero"),
        lambda p: os.mkfifo(p),
        lambda p: p.write_text("[" * 100_000),
        lambda p: p.write_text('{"generation": ' + "9" * 5000 + "}"),
    ],
    ids=["dev-zero", "fifo", "deep", "huge-number"],
)
def test_a_hostile_state_file_means_check_everything(make: Callable[[Path], None], kmenv: Runner, locked: Path) -> None:
    state = locked / ".kmenv" / "state.json"
    state.unlink()
    make(state)
    with quick():
        result = kmenv("-C", locked, "install")
    assert result.code == 0, result.err
    # checked everything, found the kept generation holding exactly the lock's files, and recorded it again
    assert state.is_file() and json.loads(state.read_text())["generation"] == 1


# -- static registry documents -------------------------------------------------------------------------------------


def test_a_registry_index_that_is_dev_zero_or_a_folder_is_one_line(kmenv: Runner, example: Path) -> None:
    index = example.parent / "registry" / "index.json"
    index.unlink()
    index.symlink_to("/dev/zero")
    with quick():
        one_line(kmenv("-C", example, "lock"), EXIT_REGISTRY, f"registry 'example': {index} is a device, not a file")
    index.unlink()
    index.mkdir()
    one_line(kmenv("-C", example, "lock"), EXIT_REGISTRY, f"{index} is a folder, not a file")


def test_a_registry_document_past_a_bound_names_its_place(tmp_path: Path) -> None:
    (tmp_path / "index.json").write_text(
        '{"format": 1, "instances": [\n {"handle": "acme/m/onnx/v", "document": "m.json", "latest": 1},\n'
        ' {"handle": "acme/m/onnx/v", "document": "m.json", "latest": 1, "latest": 2}]}'
    )
    with pytest.raises(RegistryDocumentError) as caught:
        StaticRegistry("mine", str(tmp_path)).list_all()
    assert str(caught.value) == f'{tmp_path / "index.json"}:3:65: the key "latest" appears twice in one object'
    assert caught.value.exit_code == EXIT_USAGE


def endless(handler: BaseHTTPRequestHandler) -> None:
    """200 with no length, then zeros until the client hangs up (or 2 GiB, should it never)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    try:
        handler.wfile.write(b'{"format": 1, "instances": ["')
        for _ in range(32 * 1024):
            handler.wfile.write(b"a" * 65536)
    except OSError:
        pass


def drip(handler: BaseHTTPRequestHandler) -> None:
    """A valid Content-Length, then one byte every 0.2 s: each read arrives well within any timeout."""
    body = b'{"format": 1, "instances": []}' + b" " * 1000
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        for i in range(len(body)):
            handler.wfile.write(body[i : i + 1])
            handler.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def test_an_endless_http_index_is_refused_past_the_cap(server: FaultServer) -> None:
    server.routes["/index.json"] = endless
    with quick(), pytest.raises(RegistryDocumentError, match="goes on past 67,108,864 bytes") as caught:
        StaticRegistry("web", server.url + "/", retries=0).list_all()
    assert caught.value.exit_code == EXIT_USAGE


def test_a_declared_length_past_the_cap_is_refused_before_reading(server: FaultServer) -> None:
    server.routes["/index.json"] = lambda h: reply(h, 200, b"{}", {"Content-Length": str(10**12)})
    with quick(), pytest.raises(RegistryDocumentError, match="announces 1,000,000,000,000 bytes"):
        StaticRegistry("web", server.url + "/", retries=0).list_all()


def test_a_dripping_http_index_stops_at_the_deadline(server: FaultServer) -> None:
    server.routes["/index.json"] = drip
    started = time.monotonic()
    with pytest.raises(NetworkError, match="did not arrive in time"):
        StaticRegistry("web", server.url + "/", deadline=1.0, timeout=5).list_all()
    assert time.monotonic() - started < 4.0


def test_an_endless_http_registry_through_the_cli(kmenv: Runner, server: FaultServer, tmp_path: Path) -> None:
    serve_folder(server, Path(__file__).parent.parent / "examples" / "registry")
    server.routes["/index.json"] = endless
    project = write_project(tmp_path / "p", server.url + "/", {"bert": "kmenv-examples/tiny-bert/transformers/base"})
    with quick():
        result = kmenv("-C", project, "lock")
    one_line(result, EXIT_USAGE, "index.json: the answer goes on past")


# -- names and paths -----------------------------------------------------------------------------------------------


def test_the_name_rules_count_bytes_as_the_filesystem_does() -> None:
    assert model_name_problem("m" * NAME_MAX) is None
    assert "at most 255" in (model_name_problem("m" * (NAME_MAX + 1)) or "")
    assert relative_path_problem("d/" + "é" * 127) is None  # 254 bytes
    assert "segment of 256 bytes" in (relative_path_problem("d/" + "é" * 128) or "")
    assert relative_path_problem("/".join(["d" * 200] * (MAX_PATH_BYTES // 201))) is None
    too_long = "/".join(["d" * 200] * (MAX_PATH_BYTES // 201 + 1))
    assert f"at most {MAX_PATH_BYTES:,}" in (relative_path_problem(too_long) or "")
    with pytest.raises(UsageError, match="has a part that is 300 bytes long"):
        Handle.parse("o/" + "m" * 300)
    with pytest.raises(UsageError, match="not a positive integer"):
        Handle.parse("o/m/pyTorch/v/" + "9" * 200)  # past 18 digits, before Python's conversion limit
    with pytest.raises(UsageError, match="has a part that is 5,000 bytes long"):
        Handle.parse("o/m/pyTorch/v/" + "9" * 5000)


def test_a_model_name_past_name_max_in_kmodels_yaml_is_one_located_line(kmenv: Runner, tmp_path: Path) -> None:
    name = "m" * 300
    (tmp_path / "kmodels.yaml").write_text(f"version: 1\nmodels:\n  {name}: o/m/pyTorch/v\n")
    result = kmenv("-C", tmp_path, "lock", "--offline")
    assert result.code == EXIT_USAGE and "is not a safe folder name" in result.err, result.err
    assert "File name too long" not in result.err and len(result.err) < 1000


# -- other JSON files and the error output -------------------------------------------------------------------------


def test_a_hostile_frameworks_file_is_a_located_usage_error(tmp_path: Path) -> None:
    (tmp_path / "frameworks.json").write_text('{"pyTorch": {"torch": ">=2"},\n "pyTorch": {}}')
    with pytest.raises(UsageError, match=r"frameworks\.json:2:2: the key \"pyTorch\" appears twice"):
        load_framework_table(tmp_path)
    (tmp_path / "frameworks.json").unlink()
    (tmp_path / "frameworks.json").symlink_to("/dev/zero")
    with quick(), pytest.raises(UsageError, match="it is a device, not a file"):
        load_framework_table(tmp_path)


def test_error_details_are_capped_and_every_line_is_clipped() -> None:
    error = KmenvError("x" * 3_000_000, hint="h", details=["y" * 100 for _ in range(10_000)])
    details = error.details()
    assert len(details) == MAX_PROBLEMS_SHOWN + 1 and details[-1].startswith("... and 9950 more problems")
    assert len(clip_text(error.message)) <= MAX_LINE_CHARS + 1 and clip_text(error.message).endswith("…")
    assert clip_text("path /a/b is fine") == "path /a/b is fine"
    assert clip_text("two\nlines") == "two lines"


def test_registry_document_errors_are_registry_errors_with_the_usage_code() -> None:
    assert issubclass(RegistryDocumentError, RegistryError) and RegistryDocumentError("x").exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    "make", [lambda p: p.symlink_to("/dev/zero"), lambda p: os.mkfifo(p)], ids=["dev-zero", "fifo"]
)
def test_a_gc_root_that_is_not_a_file_is_unreadable_not_a_hang(
    make: Callable[[Path], None], kmenv: Runner, locked: Path, isolated_dirs: Path
) -> None:
    garbage = isolated_dirs / "cache" / "roots" / "downloads" / "broken.json"
    garbage.parent.mkdir(parents=True, exist_ok=True)
    make(garbage)
    with quick():
        result = kmenv("cache", "info", "--json")
    assert result.code == 0 and json.loads(result.out)["unreadable_roots"] == [str(garbage)]
