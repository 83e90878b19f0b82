"""The usage ledger: what gets recorded, that it never stores secrets, and that it never stops an install.

Every test has its own ``KMENV_DATA_DIR`` (see conftest), so the ledger file starts absent.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Runner

from kmenv import path as model_path
from kmenv.ledger import database as ledger
from kmenv.ledger.database import last_use_times, read_events, record
from kmenv.ledger.events import Event, scrub


@pytest.fixture(autouse=True)
def fresh_warning() -> Iterator[None]:
    """Each test may see the once-per-process ledger warning afresh."""
    ledger.reset_warning()
    yield
    ledger.reset_warning()


def ledger_file() -> Path:
    return Path(os.environ["KMENV_DATA_DIR"]) / "ledger.sqlite"


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def test_install_records_lock_install_and_download_events(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    events = read_events(project=example)
    locks = [e for e in events if e.kind == "lock"]
    installs = {e.model: e for e in events if e.kind == "install"}
    downloads = {e.model: e for e in events if e.kind == "download"}
    assert {e.model for e in locks} == {"adder", "bert", "chat", "iris", "tiny-lm-base"}
    assert installs["bert"].handle == "kmenv-examples/tiny-bert/transformers/base"
    assert installs["bert"].version == 3 and installs["bert"].generation == 1
    assert installs["bert"].environment == str(example / ".kmenv")
    assert set(downloads) == set(installs)
    assert sum(e.nbytes or 0 for e in downloads.values()) == sum(
        f.stat().st_size for f in (example / ".kmenv" / "models").rglob("*") if f.is_file()
    )
    assert all(e.source == "file://" and (e.seconds or 0) >= 0 for e in downloads.values())


def test_a_no_op_install_records_nothing(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    before = len(read_events())
    assert kmenv("-C", example, "install").code == 0
    assert len(read_events()) == before


def test_path_records_a_use_with_its_generation(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    started = time.time()
    model_path("bert", project=example)
    assert kmenv("-C", example, "path", "iris").code == 0
    uses = read_events(project=example, kinds=["use"])
    assert [(e.model, e.generation) for e in uses] == [("bert", 1), ("iris", 1)]
    assert last_use_times()[str(example / ".kmenv")] >= started


def test_last_use_times_is_empty_without_a_ledger() -> None:
    assert last_use_times() == {}


def test_no_ledger_records_nothing(example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMENV_NO_LEDGER", "1")
    assert kmenv("-C", example, "install").code == 0
    kmenv("-C", example, "path", "bert")
    assert not ledger_file().exists()
    assert read_events() == [] and last_use_times() == {}


def test_remove_is_recorded(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    assert kmenv("-C", example, "remove", "iris").code == 0
    events = read_events(project=example)
    assert ("remove", "iris") in [(e.kind, e.model) for e in events]
    assert [(e.model, e.previous, e.version) for e in events if e.kind == "lock"][-1] == ("iris", 2, None)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (
            "https://user:s3cret@host.example/files/a.bin?X-Goog-Signature=abc&token=t#frag",
            "https://host.example/files/a.bin",
        ),
        ("https://storage.example/blob?sig=1", "https://storage.example/blob"),
        ("file:///srv/registry/index.json", "file:///srv/registry/index.json"),
        ("/plain/path?odd", "/plain/path"),
        ("example", "example"),
    ],
)
def test_scrub_drops_credentials_queries_and_fragments(given: str, kept: str) -> None:
    assert scrub(given) == kept


def test_no_credential_or_query_string_reaches_the_file() -> None:
    signed = "https://alice:hunter2@blobs.example/m/1/model.bin?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA"
    assert record([Event("download", source=signed, nbytes=10, seconds=1.0, detail={"url": signed})])
    raw = b"".join(p.read_bytes() for p in ledger_file().parent.iterdir())  # the database and any WAL
    for secret in (b"hunter2", b"alice", b"deadbeef", b"AKIA", b"Signature"):
        assert secret not in raw
    (event,) = read_events()
    assert event.source == "https://blobs.example/m/1/model.bin"
    assert event.detail == {"url": "https://blobs.example/m/1/model.bin"}


def test_a_corrupt_ledger_is_set_aside_and_the_install_still_works(example: Path) -> None:
    ledger_file().parent.mkdir(parents=True)
    ledger_file().write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "kmenv", "-C", str(example), "install"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Installed 5 models" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "ledger" in line]
    assert len(warnings) == 1, result.stderr  # said once, although several events were recorded
    assert "was unreadable" in warnings[0] and "started a new one" in warnings[0]
    aside = list(ledger_file().parent.glob("ledger.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert "install" in kinds(read_events(project=example))  # the new ledger works


def test_a_locked_ledger_warns_once_and_never_blocks_an_install(
    example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert record([Event("gc")])
    monkeypatch.setattr(ledger, "BUSY_SECONDS", 0.05)
    holder = sqlite3.connect(ledger_file(), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = kmenv("-C", example, "install")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 0, result.err
    assert result.err.count("usage ledger") == 1
    assert "locked" in result.err
    assert (example / ".kmenv" / "models" / "bert").is_dir()


def test_an_unwritable_data_dir_is_only_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("KMENV_DATA_DIR", str(blocker))
    assert record([Event("gc")]) is False
    assert read_events() == []


WRITER = textwrap.dedent(
    """
    import sys
    from kmenv.ledger.database import record
    from kmenv.ledger.events import Event
    from kmenv.ledger.uses import record_use
    from pathlib import Path
    worker, count = int(sys.argv[1]), int(sys.argv[2])
    for i in range(count):
        assert record([Event("gc", model=f"w{worker}", version=i + 1)]), "event lost"
        record_use(Path(f"/projects/p{worker}"), f"m{i}")
    """
)


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    workers, count = 6, 40
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [
        subprocess.Popen([sys.executable, str(script), str(w), str(count)], stderr=subprocess.PIPE, text=True)
        for w in range(workers)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, errors
    assert not any("warning" in e for e in errors), errors
    events = read_events()
    gc = [e for e in events if e.kind == "gc"]
    uses = [e for e in events if e.kind == "use"]
    assert len(gc) == workers * count and len(uses) == workers * count
    for w in range(workers):
        assert sorted(e.version or 0 for e in gc if e.model == f"w{w}") == list(range(1, count + 1))
    assert set(last_use_times()) == {f"/projects/p{w}/.kmenv" for w in range(workers)}
    with contextlib.closing(sqlite3.connect(ledger_file())) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_events_read_back_in_time_order_with_filters() -> None:
    record([Event("install", project="/a", model="x", version=1, time=100.0)])
    record([Event("use", project="/b", model="y", time=50.0), Event("use", project="/a", model="x", time=200.0)])
    assert [e.time for e in read_events()] == [50.0, 100.0, 200.0]
    assert [e.kind for e in read_events(project="/a")] == ["install", "use"]
    assert [e.project for e in read_events(since=150.0)] == ["/a"]
    assert ledger.known_projects() == ["/a", "/b"]


def test_the_python_api_records_one_use_per_call(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    for _ in range(3):
        model_path("chat", project=example)
    assert [e.model for e in read_events(kinds=["use"])] == ["chat"] * 3


def test_rollback_validate_and_gc_are_recorded(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv("-C", example, "install").code == 0
    assert kmenv("-C", example, "rollback").code == 0
    assert kmenv("-C", example, "validate").code in (0, 6)
    assert kmenv("gc", "--keep", "1").code == 0
    events = read_events()
    (rollback,) = [e for e in events if e.kind == "rollback"]
    assert (rollback.project, rollback.generation, rollback.detail) == (
        str(example),
        1,
        {"from": 2, "matches_lock": False},
    )
    assert [e.project for e in events if e.kind == "validate"] == [str(example)]
    (gc,) = [e for e in events if e.kind == "gc"]
    assert gc.project is None and (gc.nbytes or 0) >= 0 and "deleted" in gc.detail


def test_recording_a_use_loads_nothing_heavy(example: Path, kmenv: Runner) -> None:
    kmenv("-C", example, "install")
    code = (
        "import sys, kmenv; kmenv.path('bert', project=sys.argv[1]); "
        "heavy = ('pydantic', 'rich', 'requests', 'ruamel', 'resolvelib', 'packaging', 'platformdirs'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(example)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "" and out.stderr == ""
    assert [e.model for e in read_events(kinds=["use"])] == ["bert"]


def test_a_corrupt_ledger_never_breaks_model_loading(
    example: Path, kmenv: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    kmenv("-C", example, "install")
    ledger_file().write_bytes(b"\x00garbage" * 512)
    for path in Path(f"{ledger_file()}-wal"), Path(f"{ledger_file()}-shm"):
        path.unlink(missing_ok=True)
    assert model_path("bert", project=example).name == "bert"
    assert model_path("iris", project=example).name == "iris"
    err = capsys.readouterr().err
    assert err.count("warning: usage ledger") == 1 and "started a new one" in err
    assert [e.model for e in read_events(kinds=["use"])] == ["bert", "iris"]


def test_actions_called_from_python_record_what_the_cli_records(example: Path) -> None:
    import kmenv
    from kmenv.actions.gc import collect_garbage, plan_collection
    from kmenv.actions.rollback import rollback
    from kmenv.actions.spec_change import remove_model
    from kmenv.actions.validate import validate_project
    from kmenv.store.gc_plan import GcOptions

    project = kmenv.Project(example)
    assert kmenv.install(project).switched
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv.install(project).switched
    rollback(project)
    validate_project(project)
    remove_model(project, "iris")
    collect_garbage(plan_collection(project.store, project.ledger, GcOptions(keep=1)), project.store, project.ledger)
    events = read_events()
    rollbacks = [(e.kind, e.generation, e.detail) for e in events if e.kind == "rollback"]
    assert rollbacks == [("rollback", 1, {"from": 2, "matches_lock": False})]
    assert [e.project for e in events if e.kind == "validate"] == [str(example)]
    assert [(e.kind, e.model) for e in events if e.kind == "remove"] == [("remove", "iris")]
    assert [e.project for e in events if e.kind == "gc"] == [None]


def test_ledger_trouble_goes_to_the_owners_warning_sink_once(tmp_path: Path) -> None:
    from kmenv.ledger.database import UsageLedger

    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    heard: list[str] = []
    owned = UsageLedger(path, warn=heard.append)
    assert owned.record([Event("gc")]) and owned.record([Event("gc")])
    path.write_bytes(b"broken again" * 100)
    assert owned.record([Event("gc")])
    assert len(heard) == 1 and "was unreadable" in heard[0]
    assert UsageLedger(None).record([Event("gc")]) is False  # turned off: nothing stored, nothing said


def test_the_ledger_package_reads_events_as_the_readme_shows() -> None:
    import kmenv.ledger
    from kmenv.ledger import database

    assert kmenv.ledger.read_events is database.read_events
    assert kmenv.ledger.last_use_times is database.last_use_times
    assert sorted(dir(kmenv.ledger)) == sorted(kmenv.ledger.__all__)
