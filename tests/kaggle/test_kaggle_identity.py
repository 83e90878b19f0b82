"""Kaggle metadata is cached per identity: what one caller was told is never served to another.

versions, show and search of a private model, for no credentials, a wrong key, another user and a
collaborator; search in both directions; offline; and what the cache keeps on disk (digests only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from catalogue import ALICE_KEY
from identities import CAROL_TOKEN, PRIVATE, SECRETS, Who
from kaggle_emulator import KaggleEmulator

from kmenv.registry.kaggle.auth import ANONYMOUS, Credentials, identity_of
from kmenv.registry.kaggle.cache import MetadataCache

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # `emulator`, `people`, `who`


def _asked(emu: KaggleEmulator, route: str) -> int:
    return len(emu.requests_to(route))


def test_identity_is_a_one_way_digest_that_changes_with_every_part() -> None:
    alice = Credentials("basic", "env", username="alice", secret=ALICE_KEY)
    wrong = Credentials("basic", "env", username="alice", secret="wrong-key-9999")
    token = Credentials("token", "env", secret=ALICE_KEY)
    assert identity_of(None) == ANONYMOUS
    assert alice.identity() == Credentials("basic", "kaggle.json", username="alice", secret=ALICE_KEY).identity()
    assert len({alice.identity(), wrong.identity(), token.identity(), ANONYMOUS}) == 4
    assert alice.identity().startswith("id-") and len(alice.identity()) == 43
    assert ALICE_KEY not in alice.identity() and "alice" not in alice.identity()
    # parts cannot be shifted between fields to reach another identity's digest
    shifted = (
        Credentials("basic", "f", username="a\0b", secret="c"),
        Credentials("basic", "f", username="a", secret="b\0c"),
    )
    assert shifted[0].identity() != shifted[1].identity()


def test_cache_answers_are_kept_apart_by_scope(tmp_path: Path) -> None:
    cache = MetadataCache(tmp_path, "http://127.0.0.1:1/api/v1")
    cache.put("GetModel", {"ownerSlug": "a"}, {"title": "mine"}, scope="id-1")
    assert cache.get("GetModel", {"ownerSlug": "a"}, scope="id-2") is None
    assert cache.get("GetModel", {"ownerSlug": "a"}, scope=ANONYMOUS) is None
    found = cache.get("GetModel", {"ownerSlug": "a"}, scope="id-1")
    assert found is not None and found.data == {"title": "mine"}
    # an entry copied under another identity's folder is not believed: the record names its scope
    [entry] = (tmp_path / "kaggle").rglob("*.json")
    stolen = tmp_path / "kaggle" / "127.0.0.1_1" / "rpc" / "id-2" / "GetModel" / entry.name
    stolen.parent.mkdir(parents=True)
    stolen.write_bytes(entry.read_bytes())
    assert cache.get("GetModel", {"ownerSlug": "a"}, scope="id-2") is None


def test_private_versions_are_asked_again_for_every_other_identity(
    people: KaggleEmulator, kmenv: Runner, who: Who
) -> None:
    who("alice")
    assert kmenv("versions", PRIVATE).code == 0
    before = _asked(people, "GetModelInstance")
    assert kmenv("versions", PRIVATE).code == 0  # the owner's second run: her own cache
    assert _asked(people, "GetModelInstance") == before
    for run in ({}, {"user": "bob"}, {"user": "alice", "key": "wrong-key-9999"}):
        who(**run)
        result = kmenv("versions", PRIVATE)
        assert result.code == (5 if "key" in run else 2), (run, result.out)  # 401 for a wrong key; else 404: not found
        assert _asked(people, "GetModelInstance") == before + 1, run  # Kaggle was asked, not the cache
        before += 1
        assert "1 (latest)" not in result.out and len(result.err.strip().splitlines()) == 2  # message + hint
    assert "HTTP 401" in result.err and "wrong-key-9999" not in result.err
    who(token=CAROL_TOKEN)  # a collaborator: Kaggle says yes, so she sees it
    shared = kmenv("versions", PRIVATE)
    assert shared.code == 0 and "1 (latest)" in shared.out


def test_show_of_a_private_model_is_not_served_from_the_owners_cache(
    people: KaggleEmulator, kmenv: Runner, who: Who
) -> None:
    who("alice")
    assert "Private thing" in kmenv("show", "alice/private-thing").out
    who()
    result = kmenv("show", "alice/private-thing")
    assert result.code == 2 and "Kaggle has no model alice/private-thing" in result.err
    assert "Private thing" not in result.out
    assert [s.headers.get("Authorization") for s in people.requests_to("GetModel")][-1] is None


def test_search_results_do_not_shadow_each_other_in_either_direction(
    people: KaggleEmulator, kmenv: Runner, who: Who
) -> None:
    def found() -> list[str]:
        result = kmenv("search", "thing", "--json")
        assert result.code == 0, result.err
        return [m["handle"] for m in json.loads(result.out)["models"]]

    who()
    assert found() == []  # anonymous first: "no models"
    who("alice")
    assert found() == ["alice/private-thing"]  # not shadowed by the anonymous answer
    who()
    asked = _asked(people, "ListModels")
    assert found() == []  # and the owner's listing is not shown to anonymous
    who("alice")
    assert found() == ["alice/private-thing"]
    assert _asked(people, "ListModels") == asked  # each identity's own answer was still fresh


def test_offline_serves_each_identity_only_its_own_answers(people: KaggleEmulator, kmenv: Runner, who: Who) -> None:
    who("alice")
    assert kmenv("versions", PRIVATE).code == 0
    seen = len(people.seen)
    assert kmenv("--offline", "versions", PRIVATE).code == 0
    for run, named in (({}, "anonymous (no credentials)"), ({"user": "alice", "key": "wrong-key-9999"}, "user alice")):
        who(**run)
        result = kmenv("--offline", "versions", PRIVATE)
        assert result.code == 5
        assert f"offline: the metadata cache has no Kaggle answer for model instance {PRIVATE}" in result.err
        assert f"given to {named}" in result.err and "once online with these credentials" in result.err
    assert len(people.seen) == seen


def test_cache_names_identities_by_digest_and_keeps_no_secret(
    people: KaggleEmulator, kmenv: Runner, who: Who, isolated_dirs: Path
) -> None:
    for run in ({}, {"user": "alice"}, {"user": "bob"}, {"token": CAROL_TOKEN}):
        who(**run)
        kmenv("search", "--json")
    scopes = sorted(p.name for p in isolated_dirs.glob("cache/http/kaggle/*/rpc/*"))
    assert len(scopes) == 4 and ANONYMOUS in scopes
    assert all(s == ANONYMOUS or (s.startswith("id-") and len(s) == 43) for s in scopes)
    for path in isolated_dirs.rglob("*"):
        assert not any(secret in str(path) for secret in SECRETS), path
        if path.is_file():
            data = path.read_bytes()
            assert not any(secret.encode() in data for secret in SECRETS), path
