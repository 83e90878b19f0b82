"""`kmenv gc`: a frozen plan (pure, tested without a disk), shown with sizes, executed references-first."""

from __future__ import annotations

import json
import shutil
import time
import types
from pathlib import Path

import pytest
from conftest import Runner

from kmenv.actions.project import environment_at
from kmenv.errors import UsageError
from kmenv.store import gc_scan
from kmenv.store.gc_delete import execute_plan
from kmenv.store.gc_plan import (
    BlobFile,
    CacheSnapshot,
    Deletion,
    DownloadSnapshot,
    EnvironmentSnapshot,
    GcOptions,
    GcPlan,
    LooseFile,
    parse_duration,
    plan_gc,
)
from kmenv.store.roots import DownloadRoot, Root, read_roots, record_generation

NOW = 1_800_000_000.0
DAY = 86400.0
CACHE = Path("/cache")


def sha(n: int) -> str:
    return f"{n:064x}"


def blob(n: int, *, age: float = 30 * DAY) -> BlobFile:
    return BlobFile(sha(n), CACHE / "blobs" / "sha256" / sha(n)[:2] / sha(n), 100 * n, NOW - age)


def environment(
    name: str, generations: dict[int, list[int]], *, current: int | None, used: float = NOW
) -> EnvironmentSnapshot:
    env = Path(f"/projects/{name}/.kmenv")
    root = Root(
        CACHE / "roots" / f"{name}.json",
        env,
        {g: {sha(b): f"m/file{b}" for b in blobs} for g, blobs in generations.items()},
        used,
    )
    return EnvironmentSnapshot(root, True, current, {g: 10 for g in generations}, used)


def snapshot(
    *environments: EnvironmentSnapshot, blobs: tuple[BlobFile, ...] = (), loose: tuple[LooseFile, ...] = ()
) -> CacheSnapshot:
    return CacheSnapshot(CACHE, NOW, blobs, loose, environments)


def kinds(plan: GcPlan) -> list[tuple[str, str]]:
    return [(d.kind, d.path.name) for d in plan.deletions]


def test_old_generations_go_and_only_blobs_no_kept_generation_uses() -> None:
    app = environment("app", {1: [1, 2], 2: [2, 3], 3: [3, 4]}, current=3)
    other = environment("other", {1: [1]}, current=1)
    plan = plan_gc(snapshot(app, other, blobs=tuple(blob(n) for n in (1, 2, 3, 4, 5))), GcOptions(keep=2))

    assert kinds(plan) == [("generation", "1"), ("blob", sha(5))], "blob 1 is kept: the other project uses it"
    assert plan.kept == {"/projects/app/.kmenv": (2, 3), "/projects/other/.kmenv": (1,)}
    assert plan.total_bytes == 10 + 500
    assert plan.by_kind() == {"generation": (1, 10), "blob": (1, 500)}


def test_the_generation_in_use_is_kept_even_after_a_rollback() -> None:
    app = environment("app", {1: [1], 2: [2], 3: [3]}, current=1)
    plan = plan_gc(snapshot(app, blobs=(blob(1), blob(2), blob(3))), GcOptions(keep=1))
    assert kinds(plan) == [("generation", "2"), ("blob", sha(2))]
    assert plan.kept["/projects/app/.kmenv"] == (1, 3)


def test_a_vanished_environment_loses_its_root_and_its_blobs() -> None:
    gone = environment("gone", {1: [7]}, current=1)
    gone = EnvironmentSnapshot(gone.root, False, None, {}, NOW)
    plan = plan_gc(snapshot(gone, blobs=(blob(7),)), GcOptions())
    assert kinds(plan) == [("root", "gone.json"), ("blob", sha(7))]


def test_an_unreadable_root_protects_every_blob() -> None:
    damaged = EnvironmentSnapshot(Root(CACHE / "roots" / "x.json", Path(), {}, 0.0, damaged=True), False, None, {}, 0)
    plan = plan_gc(snapshot(damaged, blobs=(blob(1),)), GcOptions())
    assert plan.deletions == ()
    assert "no blob is deleted" in plan.warnings[0]


def test_recent_blobs_are_left_for_the_install_that_is_linking_them() -> None:
    plan = plan_gc(snapshot(blobs=(blob(1, age=60), blob(2))), GcOptions(grace=3600))
    assert kinds(plan) == [("blob", sha(2))]


def test_environments_unused_for_long_keep_only_their_current_generation_and_protect_nothing() -> None:
    idle = environment("idle", {1: [1], 2: [2]}, current=2, used=NOW - 40 * DAY)
    busy = environment("busy", {1: [3], 2: [4]}, current=2, used=NOW - DAY)
    plan = plan_gc(
        snapshot(idle, busy, blobs=tuple(blob(n) for n in (1, 2, 3, 4))), GcOptions(keep=2, unused_for=30 * DAY)
    )
    assert kinds(plan) == [("generation", "1"), ("blob", sha(1)), ("blob", sha(2))]
    assert "unused for 40 days" in plan.warnings[0]


def test_partials_metadata_and_index_entries() -> None:
    partial = CACHE / "partial"
    loose = (
        LooseFile("partial", partial / f"{sha(1)}.part", 50, NOW - DAY, points_to=sha(1)),  # its blob exists
        LooseFile("partial", partial / f"{sha(9)}.part", 60, NOW - 8 * DAY, points_to=sha(9)),  # stale
        LooseFile("partial", partial / f"{sha(8)}.part", 70, NOW - DAY, points_to=sha(8)),  # fresh: resumable
        LooseFile("partial", partial / f"{sha(6)}.h-1-a.tmp", 80, NOW - 9 * DAY, alive=True),  # a live writer
        LooseFile("metadata", CACHE / "http" / "old.json", 5, NOW - 31 * DAY),
        LooseFile("metadata", CACHE / "http" / "new.json", 5, NOW - DAY),
        LooseFile("index", CACHE / "index" / "md5" / "aa" / "gone", 65, NOW, points_to=sha(5)),
        LooseFile("index", CACHE / "index" / "md5" / "bb" / "kept", 65, NOW, points_to=sha(1)),
    )
    app = environment("app", {1: [1]}, current=1)
    plan = plan_gc(snapshot(app, blobs=(blob(1),), loose=loose), GcOptions())
    assert kinds(plan) == [
        ("index", "gone"),
        ("partial", f"{sha(1)}.part"),
        ("partial", f"{sha(9)}.part"),
        ("metadata", "old.json"),
    ]


def download(name: str, blobs: list[int], *, exists: bool = True, damaged: bool = False) -> DownloadSnapshot:
    files = {f"file{b}": sha(b) for b in blobs}
    root = DownloadRoot(CACHE / "roots" / "downloads" / f"{name}.json", Path(f"/dl/{name}"), files, NOW, damaged)
    return DownloadSnapshot(root, exists)


def test_a_download_folder_protects_its_blobs_until_it_is_gone() -> None:
    blobs = (blob(1), blob(2), blob(3))
    downloads = (download("here", [1]), download("gone", [2], exists=False))
    plan = plan_gc(CacheSnapshot(CACHE, NOW, blobs, (), (), downloads), GcOptions())
    assert kinds(plan) == [("download", "gone.json"), ("blob", sha(2)), ("blob", sha(3))]
    assert plan.deletions[0].reason == "download folder /dl/gone no longer exists"


def test_an_unreadable_download_root_protects_every_blob_and_the_plan_says_so() -> None:
    downloads = (download("bad", [], exists=False, damaged=True),)
    plan = plan_gc(CacheSnapshot(CACHE, NOW, (blob(1), blob(2, age=60)), (), (), downloads), GcOptions())
    assert plan.deletions == ()
    assert "bad.json: no blob is deleted" in plan.warnings[0]
    assert plan.to_dict()["held_back"] == {"unreadable_root": {"count": 2, "bytes": 300}}


def test_the_plan_counts_blobs_held_back_by_the_grace_period() -> None:
    plan = plan_gc(snapshot(blobs=(blob(1, age=60), blob(2, age=120), blob(3))), GcOptions(grace=3600))
    assert plan.held_back == {"grace": (2, 300)}


def test_prune_keeps_every_generation() -> None:
    app = environment("app", {1: [1], 2: [2], 3: [3]}, current=3)
    plan = plan_gc(snapshot(app, blobs=(blob(1), blob(2), blob(3), blob(4))), GcOptions(keep=None))
    assert kinds(plan) == [("blob", sha(4))]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * DAY), ("12h", 43200), ("90m", 5400), ("2w", 14 * DAY), ("7", 7 * DAY)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_bad_duration_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'soon' is not a duration"):
        parse_duration("soon")


# --- end to end ------------------------------------------------------------------------------


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """gc sees the clock two hours ahead, so blobs just fetched are past their grace period."""
    fake = types.SimpleNamespace(time=lambda: time.time() + 7200)
    monkeypatch.setattr(gc_scan, "time", fake)


def blobs_in(cache: Path) -> set[str]:
    return {p.name for p in (cache / "blobs" / "sha256").rglob("*") if p.is_file()}


def test_gc_end_to_end(example: Path, kmenv: Runner, isolated_dirs: Path, tmp_path: Path, later: None) -> None:
    cache = isolated_dirs / "cache"
    other = tmp_path / "other"
    shutil.copytree(example, other)
    assert kmenv("-C", other, "install").code == 0
    assert kmenv("-C", example, "install").code == 0
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv("-C", example, "install").code == 0  # iris 2 -> 1: generation 2
    before = blobs_in(cache)

    dry = kmenv("gc", "--keep", "1", "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.splitlines()[0].startswith("Would delete 1 item,")
    assert f"{example / '.kmenv' / 'generations' / '1'}  (generation 1 of" in dry.out
    assert (example / ".kmenv" / "generations" / "1").is_dir() and blobs_in(cache) == before

    # The other project still uses iris 2's files: they stay although example dropped them.
    done = kmenv("gc", "--keep", "1")
    assert done.code == 0, done.err
    assert not (example / ".kmenv" / "generations" / "1").exists()
    assert blobs_in(cache) == before

    shutil.rmtree(other)
    removed = json.loads(kmenv("gc", "--json").out)
    assert removed["plan"]["summary"]["root"]["count"] == 1
    assert removed["plan"]["summary"]["blob"]["count"] == 2, "iris 2's two files: no kept generation uses them"
    assert removed["deleted"] == 3
    assert len(blobs_in(cache)) == len(before) - 2
    assert [r.environment for r in read_roots(cache)] == [example / ".kmenv"]
    assert kmenv("-C", example, "validate").code == 0
    assert kmenv("gc").out.strip() == "Nothing to delete."


@pytest.mark.parametrize("ledger", [False, True])
def test_gc_unused_for_takes_the_newest_of_the_root_and_the_ledger(
    example: Path, kmenv: Runner, isolated_dirs: Path, later: None, monkeypatch: pytest.MonkeyPatch, ledger: bool
) -> None:
    if not ledger:
        monkeypatch.setenv("KMENV_NO_LEDGER", "1")
    kmenv("-C", example, "install")  # the ledger (when on) records this use
    (root_file,) = (isolated_dirs / "cache" / "roots").iterdir()
    data = json.loads(root_file.read_text())
    data["updated"] = time.time() - 60 * DAY
    root_file.write_text(json.dumps(data))

    plan = json.loads(kmenv("gc", "--unused-for", "30d", "--dry-run", "--json").out)["plan"]
    if ledger:
        assert plan["summary"] == {} and plan["warnings"] == []
    else:
        assert plan["summary"]["blob"]["count"] == 17
        assert "unused for 60 days" in plan["warnings"][0]


def _upgraded_twice(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text().replace("logistic-regression@>=1,<3", "logistic-regression@<2"))
    assert kmenv("-C", example, "install").code == 0


def test_an_interrupted_gc_leaves_every_kept_generation_whole(
    example: Path, kmenv: Runner, isolated_dirs: Path, later: None
) -> None:
    cache = isolated_dirs / "cache"
    _upgraded_twice(example, kmenv)
    plan = plan_gc(
        gc_scan.scan_cache(cache, open_environment=environment_at, now=time.time() + 7200), GcOptions(keep=1)
    )
    assert [d.kind for d in plan.deletions] == ["generation", "blob", "blob"]

    def stop_after_the_generation(item: Deletion) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute_plan(plan, cache, open_environment=environment_at, on_delete=stop_after_the_generation)
    assert not (example / ".kmenv" / "generations" / "1").exists()
    assert kmenv("-C", example, "validate").code == 0

    again = json.loads(kmenv("gc", "--keep", "1", "--json").out)
    assert again["plan"]["summary"] == {"blob": {"count": 2, "bytes": again["plan"]["total_bytes"]}}
    assert kmenv("-C", example, "validate").code == 0


def test_a_blob_an_install_starts_using_after_the_plan_is_kept(
    example: Path, kmenv: Runner, isolated_dirs: Path, later: None
) -> None:
    cache = isolated_dirs / "cache"
    _upgraded_twice(example, kmenv)
    plan = plan_gc(
        gc_scan.scan_cache(cache, open_environment=environment_at, now=time.time() + 7200), GcOptions(keep=1)
    )
    doomed = [d.path.name for d in plan.deletions if d.kind == "blob"]

    # Meanwhile an install builds generation 3 from those very blobs and records it.
    files = {name: f"iris/file-{i}" for i, name in enumerate(doomed)}
    record_generation(cache, example / ".kmenv", 3, files, existing=[1, 2, 3])

    result = execute_plan(plan, cache, open_environment=environment_at)
    assert len(result.skipped) == 2 and all("an install started using it" in s for s in result.skipped)
    assert all(name in blobs_in(cache) for name in doomed)
