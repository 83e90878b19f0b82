"""Cleanup that happens by itself: ``keep-generations`` after each install and the store's size budget.

The plan tests are pure (a snapshot in, a plan out); the end-to-end ones install the bundled example offline, with
gc's clock two hours ahead where blobs must be past their grace period.
"""

from __future__ import annotations

import json
import re
import time
import types
from pathlib import Path

import pytest
from conftest import Runner

from kmenv.store import gc_scan
from kmenv.store.gc_plan import BlobFile, CacheSnapshot, EnvironmentSnapshot, GcOptions, plan_gc
from kmenv.store.roots import Root

NOW = 1_800_000_000.0
DAY = 86400.0
CACHE = Path("/cache")


def sha(n: int) -> str:
    return f"{n:064x}"


def blob(n: int, *, age: float = 30 * DAY) -> BlobFile:
    return BlobFile(sha(n), CACHE / "blobs" / "sha256" / sha(n)[:2] / sha(n), 100, NOW - age)


def env(name: str, generations: dict[int, list[int]], *, current: int, keep: int | None = None) -> EnvironmentSnapshot:
    root = Root(
        CACHE / "roots" / f"{name}.json",
        Path(f"/projects/{name}/.kmenv"),
        {g: {sha(b): f"m/file{b}" for b in blobs} for g, blobs in generations.items()},
        NOW,
        keep=keep,
    )
    return EnvironmentSnapshot(root, True, current, {g: 10 for g in generations}, NOW)


def deleted(plan_options: GcOptions, snapshot: CacheSnapshot) -> list[tuple[str, str]]:
    return [(d.kind, d.path.name) for d in plan_gc(snapshot, plan_options).deletions]


def test_a_budget_evicts_least_recently_used_unused_blobs_only_as_far_as_needed() -> None:
    app = env("app", {3: [1]}, current=3)
    # 5 blobs of 100 bytes; blob 1 is in use; 2-5 are not. The ledger saw blob 2 used yesterday (it was written
    # long ago), so blobs 3 and 4, last touched 20 and 10 days ago, are the least recently used.
    blobs = (blob(1), blob(2, age=40 * DAY), blob(3, age=20 * DAY), blob(4, age=10 * DAY), blob(5, age=5 * DAY))
    snapshot = CacheSnapshot(CACHE, NOW, blobs, (), (app,), last_use={sha(2): NOW - DAY})
    plan = plan_gc(snapshot, GcOptions(keep=3, cache_max=300))
    assert [(d.kind, d.path.name) for d in plan.deletions] == [("blob", sha(3)), ("blob", sha(4))]
    assert plan.budget == (300, 500, 300)
    assert "least recently used (last used 20 days ago), over 300 B" in plan.deletions[0].reason
    assert deleted(GcOptions(keep=3, cache_max=500), snapshot) == []  # within the budget: the cache stays


def test_a_budget_never_evicts_a_blob_a_kept_generation_needs_and_says_so() -> None:
    app = env("app", {1: [1], 2: [2], 3: [3]}, current=3)
    snapshot = CacheSnapshot(CACHE, NOW, (blob(1), blob(2), blob(3), blob(4)), (), (app,))
    plan = plan_gc(snapshot, GcOptions(keep=2, cache_max=50))
    assert [(d.kind, d.path.name) for d in plan.deletions] == [
        ("generation", "1"),
        ("blob", sha(1)),  # its generation goes in the same plan
        ("blob", sha(4)),
    ]
    assert plan.budget == (50, 400, 200)
    assert any("more than the 50 B budget" in w for w in plan.warnings)


def test_the_cleanup_after_an_install_touches_only_its_own_environment() -> None:
    app = env("app", {1: [1], 2: [2], 3: [3]}, current=3)
    other = env("other", {1: [4], 2: [5], 3: [6]}, current=3)
    snapshot = CacheSnapshot(CACHE, NOW, tuple(blob(n) for n in range(1, 7)), (), (app, other))
    options = GcOptions(keep=1, only=frozenset({app.root.environment}), tidy=False, cache_max=2**63)
    assert deleted(options, snapshot) == [("generation", "1"), ("generation", "2")]


def test_gc_honours_the_keep_each_project_recorded() -> None:
    app = env("app", {1: [1], 2: [2], 3: [3], 4: [4]}, current=4, keep=4)
    other = env("other", {1: [5], 2: [6], 3: [7]}, current=3)
    snapshot = CacheSnapshot(CACHE, NOW, (), (), (app, other))
    assert deleted(GcOptions(keep=2, recorded_keep=True), snapshot) == [("generation", "1")]  # other's first
    assert len(deleted(GcOptions(keep=2), snapshot)) == 3  # --keep 2 wins over what projects recorded


# --- end to end -------------------------------------------------------------------------------------------------


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """gc sees the clock two hours ahead, so blobs just fetched are past their grace period."""
    monkeypatch.setattr(gc_scan, "time", types.SimpleNamespace(time=lambda: time.time() + 7200))


def _flip(project: Path, n: int) -> None:
    """Change iris's constraint so that the next install builds a new generation: iris 1 when ``n`` is odd, else 2."""
    spec = project / "kmodels.yaml"
    wanted = "logistic-regression@<2" if n % 2 else "logistic-regression@>=2"
    spec.write_text(re.sub(r"logistic-regression@\S+", wanted, spec.read_text(), count=1))


def _generations(project: Path) -> list[int]:
    return sorted(int(p.name) for p in (project / ".kmenv" / "generations").iterdir() if p.name.isdigit())


def test_each_install_keeps_the_last_generations_and_says_what_it_removed(
    example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMENV_KEEP_GENERATIONS", "2")
    assert kmenv("-C", example, "install").code == 0
    _flip(example, 1)
    second = kmenv("-C", example, "install")
    assert "Removed" not in second.out
    _flip(example, 2)  # back to iris 2, which generation 1 holds: that one is reused, not rebuilt
    assert kmenv("-C", example, "remove", "adder").code == 0  # and a third content, for a third generation
    third = kmenv("-C", example, "install")
    assert third.code == 0, third.err
    assert "Removed 1 old generation" in third.out.splitlines()[-1]
    assert _generations(example) == [2, 3]
    assert kmenv("-C", example, "validate").code == 0
    assert kmenv("-C", example, "rollback").code == 0  # generation 2 is still there to go back to


def test_kmodels_yaml_sets_keep_generations_and_the_variable_overrides_it(
    example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path
) -> None:
    spec = example / "kmodels.yaml"
    spec.write_text(spec.read_text() + "\ncleanup:\n  keep-generations: 1\n")
    assert kmenv("-C", example, "install").code == 0
    _flip(example, 1)
    result = json.loads(kmenv("-C", example, "install", "--json").out)
    assert result["cleanup"] == {"generations": 1, "blobs": 0, "blob_bytes": 0}
    assert _generations(example) == [2]  # the one in use stays, always
    monkeypatch.setenv("KMENV_KEEP_GENERATIONS", "5")
    _flip(example, 2)
    assert kmenv("-C", example, "install").code == 0
    assert _generations(example) == [2, 3]
    (root,) = (isolated_dirs / "cache" / "roots").glob("*.json")
    assert json.loads(root.read_text())["keep"] == 5  # what `kmenv gc` keeps of this environment


def test_a_budget_evicts_unused_blobs_after_an_install_and_gc_dry_run_shows_it(
    example: Path, kmenv: Runner, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch, later: None
) -> None:
    cache = isolated_dirs / "cache"
    monkeypatch.setenv("KMENV_KEEP_GENERATIONS", "1")
    assert kmenv("-C", example, "install").code == 0
    _flip(example, 1)
    assert kmenv("-C", example, "install").code == 0  # generation 1 goes; iris 2's blobs stay, as a cache
    blobs = {p.name: p.stat().st_size for p in (cache / "blobs" / "sha256").rglob("*") if p.is_file()}
    lock = json.loads((example / "kmodels.lock").read_text())
    needed = {f["sha256"] for m in lock["models"].values() for f in m["files"]}
    unused = set(blobs) - needed
    assert unused, "iris 2's files should be cached but unused"
    budget = sum(blobs.values()) - 1  # one byte over: the least recently used unused blob must go, no more

    monkeypatch.setenv("KMENV_CACHE_MAX", str(budget))
    dry = kmenv("gc", "--dry-run")
    assert dry.code == 0, dry.err
    assert "(KMENV_CACHE_MAX): blobs hold" in dry.out
    assert re.search(r"^\s+1 unreferenced blobs", dry.out, re.MULTILINE), dry.out
    assert {p.name for p in (cache / "blobs" / "sha256").rglob("*") if p.is_file()} == set(blobs)  # a dry run

    _flip(example, 2)  # iris back to 2: generation 2 (iris 1) goes, and its blobs are over the budget
    after = kmenv("-C", example, "install")
    assert after.code == 0, after.err
    remaining = {p.name: p.stat().st_size for p in (cache / "blobs" / "sha256").rglob("*") if p.is_file()}
    assert sum(remaining.values()) <= budget
    lock = json.loads((example / "kmodels.lock").read_text())
    assert {f["sha256"] for m in lock["models"].values() for f in m["files"]} <= set(remaining)
    assert re.fullmatch(r"Removed 1 old generation and .* of cached blobs", after.out.splitlines()[-1])
    assert kmenv("-C", example, "validate").code == 0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("KMENV_KEEP_GENERATIONS", "0", "KMENV_KEEP_GENERATIONS='0' is outside 1–1000"),
        ("KMENV_KEEP_GENERATIONS", "three", "KMENV_KEEP_GENERATIONS='three' is not a whole number"),
        ("KMENV_KEEP_GENERATIONS", "9" * 5000, "… is outside 1–1000"),
        ("KMENV_CACHE_MAX", "lots", "KMENV_CACHE_MAX='lots' is not a size"),
        ("KMENV_CACHE_MAX", "20XB", "KMENV_CACHE_MAX='20XB' is not a size"),
    ],
)
def test_a_bad_cleanup_variable_is_a_usage_error_naming_it(
    example: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = kmenv("-C", example, "install")
    assert result.code == 2
    assert message in result.err
    assert "hint:" in result.err and variable in result.err.split("hint:")[1]
    assert not (example / ".kmenv" / "models").exists()


def test_sizes_read_as_people_write_them() -> None:
    from kmenv.values.sizes import parse_size

    assert parse_size("20GiB") == 20 * 1024**3
    assert parse_size("1.5 GB") == 1_500_000_000
    assert parse_size("512") == 512
    assert parse_size("2T") == 2 * 1024**4
    assert parse_size("twenty") is None
    assert parse_size("-1GiB") is None
