"""``kmenv usage`` and ``kmenv history``: the pure summaries over events, then the commands end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import Runner
from test_outdated import Lab, installed_lab, publish_round_two

from kmenv import path as model_path
from kmenv.actions.usage import history_entries, parse_age, sort_usage, summarise
from kmenv.errors import UsageError
from kmenv.ledger.events import Event

ENV_A, ENV_B = "/p/a/.kmenv", "/p/b/.kmenv"
GEMMA, BERT = "acme/gemma/keras/2b", "acme/bert/pyTorch/base"


def install(env: str, generation: int, when: float, **versions: int) -> list[Event]:
    handles = {"gemma": GEMMA, "llm": GEMMA, "bert": BERT}
    return [
        Event(
            "install",
            project=env[: -len("/.kmenv")],
            environment=env,
            model=name,
            handle=handles[name],
            version=version,
            generation=generation,
            time=when,
        )
        for name, version in versions.items()
    ]


def use(env: str, name: str, generation: int, when: float) -> Event:
    return Event("use", project=env[: -len("/.kmenv")], environment=env, model=name, generation=generation, time=when)


EVENTS = [
    *install(ENV_A, 1, 100.0, gemma=1, bert=3),
    Event("download", environment=ENV_A, model="gemma", handle=GEMMA, nbytes=4000, seconds=2.0, time=100.0),
    use(ENV_A, "gemma", 1, 150.0),
    *install(ENV_A, 2, 200.0, gemma=2, bert=3),  # gemma moved; bert was only re-linked
    Event("download", environment=ENV_A, model="gemma", handle=GEMMA, nbytes=2000, seconds=2.0, time=200.0),
    use(ENV_A, "gemma", 2, 250.0),
    *install(ENV_B, 1, 300.0, llm=2),  # another project calls the same instance "llm"
    use(ENV_B, "llm", 1, 400.0),
    use(ENV_A, "gemma", 1, 500.0),  # a program still holding generation 1 open
]


def test_usage_is_per_instance_across_projects_and_names() -> None:
    rows = {r.handle: r for r in summarise(EVENTS, disk={GEMMA: 123})}
    gemma, bert = rows[GEMMA], rows[BERT]
    assert gemma.names == ("gemma", "llm") and gemma.projects == 2
    assert gemma.installs == 3  # version 1 in a, version 2 in a, version 2 in b
    assert bert.installs == 1  # generation 2 only re-linked the same version
    assert (gemma.uses, gemma.last_used) == (4, 500.0)
    assert (bert.uses, bert.last_used) == (0, None)
    assert (gemma.downloaded, gemma.throughput) == (6000, 1500.0)
    assert bert.throughput is None
    assert (gemma.disk, bert.disk) == (123, 0)


def test_since_counts_only_the_window_but_keeps_every_model() -> None:
    rows = {r.handle: r for r in summarise(EVENTS, since=260.0)}
    assert (rows[GEMMA].uses, rows[GEMMA].installs, rows[GEMMA].downloaded) == (2, 1, 0)
    assert rows[BERT].uses == 0 and rows[BERT].installs == 0  # still listed: a candidate for reclaiming disk


def test_sorting() -> None:
    rows = summarise(EVENTS)
    assert [r.handle for r in sort_usage(rows, "model")] == [BERT, GEMMA]
    assert [r.handle for r in sort_usage(rows, "uses")] == [GEMMA, BERT]
    with pytest.raises(UsageError, match="cannot sort by 'size'"):
        sort_usage(rows, "size")


@pytest.mark.parametrize(("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 1209600)])
def test_ages(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


def test_a_bad_age_says_how_to_write_one() -> None:
    with pytest.raises(UsageError) as caught:
        parse_age("30 days")
    assert caught.value.hint is not None and "30d" in caught.value.hint


def test_history_shows_what_each_install_changed() -> None:
    entries = history_entries([e for e in EVENTS if e.environment == ENV_A])
    assert [(e.kind, e.generation, e.changes) for e in entries] == [
        ("install", 1, (("bert", None, 3), ("gemma", None, 1))),
        ("install", 2, (("gemma", 1, 2),)),
    ]
    with_uses = history_entries([e for e in EVENTS if e.environment == ENV_A], uses=True)
    assert [e.kind for e in with_uses] == ["install", "download", "use", "install", "download", "use", "use"]


def test_history_follows_a_rollback_to_the_versions_of_that_generation() -> None:
    events = [
        *install(ENV_A, 1, 100.0, gemma=1),
        *install(ENV_A, 2, 200.0, gemma=2),
        Event("rollback", environment=ENV_A, generation=1, detail={"from": 2}, time=300.0),
        *install(ENV_A, 3, 400.0, gemma=2),
    ]
    entries = history_entries(events)
    assert [(e.kind, e.generation, e.changes, e.note) for e in entries[2:]] == [
        ("rollback", 1, (("gemma", 2, 1),), "from generation 2"),
        ("install", 3, (("gemma", 1, 2),), "1 model"),
    ]


@pytest.fixture
def lab(tmp_path: Path, kmenv: Runner) -> Lab:
    return installed_lab(tmp_path, kmenv)


def test_usage_command_end_to_end(lab: Lab, kmenv: Runner) -> None:
    model_path("chat", project=lab.project)
    model_path("chat", project=lab.project)
    assert kmenv("-C", lab.project, "path", "vision").code == 0
    result = kmenv("usage", "--json")
    assert result.code == 0, result.err
    rows = {r["handle"]: r for r in json.loads(result.out)["models"]}
    chat = rows["acme/chat/pyTorch/lora"]
    assert (chat["uses"], chat["installs"], chat["projects"], chat["names"]) == (2, 1, 1, ["chat"])
    assert (
        chat["disk"]
        == chat["downloaded"]
        == sum(f.stat().st_size for f in (lab.source / "acme/chat").rglob("*.*") if f.name != "version.json")
    )
    assert rows["acme/lm/pyTorch/base"]["uses"] == 0
    assert next(iter(rows)) == "acme/chat/pyTorch/lora"  # sorted by uses

    table = kmenv("usage", "--sort", "model").out.splitlines()
    assert table[0].split()[:5] == ["model", "names", "projects", "installs", "uses"]
    assert table[1].startswith("acme/chat/pyTorch/lora")

    other = kmenv("usage", "--project", str(lab.root / "elsewhere"), "--json")
    assert json.loads(other.out)["models"] == []


def test_history_command_end_to_end(lab: Lab, kmenv: Runner) -> None:
    publish_round_two(lab)
    assert kmenv("-C", lab.project, "upgrade", "chat").code == 0
    assert kmenv("-C", lab.project, "remove", "vision").code == 0
    assert kmenv("-C", lab.project, "install").code == 0
    lines = kmenv("-C", lab.project, "history").out.splitlines()
    what = [line.split(None, 2)[2] for line in lines]  # drop the date and time
    assert what == [
        "lock     chat + 1, encoder + 2, lm-base + 2, vision + 1",
        "install  generation 1: chat + 1, encoder + 2, lm-base + 2, vision + 1; 4 models",
        "upgrade  chat 1 → 2, lm-base 2 → 3",
        "install  generation 2: chat 1 → 2, lm-base 2 → 3; 4 models",
        "remove   vision",
        "lock     vision - 1",
        "install  generation 3: vision - 1; 3 models",
    ]
    document = json.loads(kmenv("-C", lab.project, "history", "--json").out)
    assert [e["kind"] for e in document["events"]][-3:] == ["remove", "lock", "install"]
    assert kmenv("-C", lab.project, "history", "--since", "1h").out.splitlines() == lines


def test_history_without_a_ledger(lab: Lab, kmenv: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMENV_NO_LEDGER", "1")
    assert kmenv("-C", lab.project, "history").out.startswith("No history recorded for")
    result = kmenv("usage")
    assert "KMENV_NO_LEDGER" in result.err


def test_usage_takes_minus_c_like_every_command(example: Path, kmenv: Runner, tmp_path: Path) -> None:
    assert kmenv("-C", example, "install").code == 0
    other = tmp_path / "other"
    shutil.copytree(example, other, ignore=shutil.ignore_patterns(".kmenv"))
    assert kmenv("-C", other, "install").code == 0
    after = kmenv("usage", "-C", example, "--json")
    assert after.code == 0, after.err
    before = kmenv("-C", example, "usage", "--json")
    assert json.loads(after.out) == json.loads(before.out)
    data = json.loads(after.out)
    assert data["project"] == str(example)
    assert {r["projects"] for r in data["models"]} == {1}  # only this project, as with --project
    assert json.loads(kmenv("usage", "--json").out)["models"][0]["projects"] == 2
