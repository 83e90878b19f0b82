"""Blobs of private and gated Kaggle models leave the shared store only for an identity Kaggle authorised.

download, lock (learning sha256s) and install, online and offline, for no credentials, a wrong key,
another user and a second consenting identity; public blobs stay shared.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import ALICE_KEY, bert_files, make_registry
from identities import CAROL_TOKEN, GATED, PRIVATE, Who
from kaggle_emulator import KaggleEmulator

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # `emulator`, `people`, `who`

SPEC = "version: 1\nregistries:\n  kaggle:\n    type: kaggle\nmodels:\n  {name}: {handle}\n"
PUBLIC = "keras/bert/keras/bert_tiny_en_uncased"


def _project(root: Path, handle: str, *, like: Path | None = None) -> Path:
    """A project declaring one model; ``like``: copy that project's lock too (a clone of a repository)."""
    root.mkdir(parents=True)
    (root / "kmodels.yaml").write_text(SPEC.format(name="m", handle=handle))
    if like is not None:
        shutil.copy(like / "kmodels.lock", root / "kmodels.lock")
    return root


def _blobs(emu: KaggleEmulator) -> int:
    return len(emu.requests_to("blob"))


def _installed(project: Path) -> list[str]:
    models = project / ".kmenv" / "models" / "m"
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


def test_download_of_a_private_model_needs_kaggles_yes_for_each_identity(
    people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path
) -> None:
    who("alice")
    assert kmenv("download", PRIVATE, "--path", tmp_path / "alice").code == 0
    blobs = _blobs(people)
    for n, run in enumerate(({}, {"user": "bob"}, {"user": "alice", "key": "wrong-key-9999"})):
        who(**run)
        result = kmenv("download", PRIVATE, "--path", tmp_path / f"other{n}")
        assert result.code == (5 if "key" in run else 2), (run, result.out)  # 401 for a wrong key; else 404: not found
        assert not list((tmp_path / f"other{n}").rglob("secret.txt")), run
    assert "HTTP 401" in result.err
    who(token=CAROL_TOKEN)
    asked = len(people.requests_to("DownloadModelInstanceVersion"))
    assert kmenv("download", PRIVATE, "--path", tmp_path / "carol").code == 0
    [copy] = (tmp_path / "carol").rglob("secret.txt")
    assert copy.read_bytes() == b"shh"
    assert _blobs(people) == blobs  # the shared blob, not a second download
    probes = people.requests_to("DownloadModelInstanceVersion")[asked:]
    assert [p.headers["Authorization"] for p in probes] == [f"Bearer {CAROL_TOKEN}"]  # asked once, as carol


def test_gated_files_go_to_consenting_identities_only(
    people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path
) -> None:
    who("alice")
    assert kmenv("download", GATED, "--path", tmp_path / "alice").code == 0
    blobs = _blobs(people)
    for run in ({}, {"user": "bob"}):
        who(**run)
        result = kmenv("download", GATED, "--path", tmp_path / "refused")
        assert result.code == 5 and "licence must be accepted" in result.err, run
    assert not list((tmp_path / "refused").rglob("model.ckpt"))
    who(token=CAROL_TOKEN)  # a second consenting identity gets the shared blob
    assert kmenv("download", GATED, "--path", tmp_path / "carol").code == 0
    assert list((tmp_path / "carol").rglob("model.ckpt")) and _blobs(people) == blobs


def test_a_withdrawn_consent_is_noticed_on_refresh(
    people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path
) -> None:
    who(token=CAROL_TOKEN)
    assert kmenv("download", GATED, "--path", tmp_path / "a").code == 0
    people.consented.discard("carol")
    assert kmenv("download", GATED, "--path", tmp_path / "b").code == 0  # the record stands until asked again
    assert kmenv("download", GATED, "--path", tmp_path / "c", "--refresh").code == 5
    result = kmenv("download", GATED, "--path", tmp_path / "d")  # the refusal dropped the record
    assert result.code == 5 and "licence must be accepted" in result.err


@pytest.mark.parametrize(("handle", "refusal"), [(PRIVATE, "HTTP 404 to "), (GATED, "licence must be accepted")])
def test_install_from_a_cloned_lock_needs_authorisation(
    people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path, handle: str, refusal: str
) -> None:
    who("alice")
    owner = _project(tmp_path / "owner", handle)
    assert kmenv("-C", owner, "install").code == 0
    files = _installed(owner)
    blobs = _blobs(people)
    for n, (run, flags, says) in enumerate(
        (
            ({}, (), refusal),
            ({}, ("--frozen",), refusal),
            ({"user": "bob"}, (), refusal),
            ({"user": "alice", "key": "wrong-key-9999"}, (), "HTTP 401"),
        )
    ):
        who(**run)
        clone = _project(tmp_path / f"clone{n}", handle, like=owner)
        result = kmenv("-C", clone, "install", *flags)
        assert result.code in (2, 5) and says in result.err, (run, flags, result.err)
        assert _installed(clone) == [] and len(result.err.strip().splitlines()) == 2, (run, flags)
    who(token=CAROL_TOKEN)
    shared = _project(tmp_path / "carol", handle, like=owner)
    assert kmenv("-C", shared, "install").code == 0
    assert _installed(shared) == files != []
    assert _blobs(people) == blobs


def test_lock_hands_learned_hashes_only_to_authorised_identities(
    people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path
) -> None:
    who("alice")
    assert kmenv("-C", _project(tmp_path / "private", PRIVATE), "lock").code == 0
    who()  # a private model: its listing is already refused
    nobody = _project(tmp_path / "nobody", PRIVATE)
    assert kmenv("-C", nobody, "lock").code == 2 and not (nobody / "kmodels.lock").exists()
    who("alice")
    owner = _project(tmp_path / "owner", GATED)
    assert kmenv("-C", owner, "lock").code == 0
    who("bob")  # gated metadata is public, but the hashes alice learned are not handed to bob
    refused = _project(tmp_path / "bob", GATED)
    result = kmenv("-C", refused, "lock")
    assert result.code == 5 and "licence must be accepted" in result.err
    assert not (refused / "kmodels.lock").exists()
    who(token=CAROL_TOKEN)
    again = _project(tmp_path / "carol", GATED)
    assert kmenv("-C", again, "lock").code == 0
    assert (again / "kmodels.lock").read_text() == (owner / "kmodels.lock").read_text()


def test_offline_hands_blobs_only_to_the_identity_that_fetched_them(
    people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path
) -> None:
    who("alice")
    owner = _project(tmp_path / "owner", PRIVATE)
    assert kmenv("-C", owner, "install").code == 0
    seen = len(people.seen)
    again = _project(tmp_path / "again", PRIVATE, like=owner)
    assert kmenv("-C", again, "--offline", "install").code == 0  # she fetched them: no need to ask
    assert _installed(again) == ["secret.txt"]
    for n, run in enumerate(({}, {"token": CAROL_TOKEN}, {"user": "alice", "key": "wrong-key-9999"})):
        who(**run)
        clone = _project(tmp_path / f"offline{n}", PRIVATE, like=owner)
        result = kmenv("-C", clone, "--offline", "install")
        assert result.code == 5, run
        assert "offline: Kaggle has not yet authorised" in result.err and f"for {PRIVATE}/1" in result.err
        assert "run the command once online with these credentials" in result.err
        assert len(result.err.strip().splitlines()) == 2 and _installed(clone) == []
    assert len(people.seen) == seen  # offline means offline
    who(token=CAROL_TOKEN)  # once online, carol is remembered
    assert kmenv("-C", _project(tmp_path / "online", PRIVATE, like=owner), "install").code == 0
    assert kmenv("-C", _project(tmp_path / "later", PRIVATE, like=owner), "--offline", "install").code == 0


def test_public_blobs_stay_shared(people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path) -> None:
    who("alice")
    first = _project(tmp_path / "first", PUBLIC)
    assert kmenv("-C", first, "install").code == 0
    blobs = _blobs(people)
    who()  # anonymous: Kaggle is asked once whether it hands the version to anyone
    asked = len(people.requests_to("DownloadModelInstanceVersion"))
    assert kmenv("-C", _project(tmp_path / "anon", PUBLIC, like=first), "install").code == 0
    probes = people.requests_to("DownloadModelInstanceVersion")[asked:]
    assert len(probes) == 1 and "Authorization" not in probes[0].headers
    assert _blobs(people) == blobs
    who("bob")  # and now anyone may have it, even offline: it is public
    bob = _project(tmp_path / "bob", PUBLIC, like=first)
    assert kmenv("-C", bob, "--offline", "install").code == 0
    installed = bob / ".kmenv" / "models" / "m"
    assert all((installed / path).read_bytes() == data for path, data in bert_files(2).items())


def test_records_survive_an_outage_and_without_a_cache_kaggle_is_always_asked(
    people: KaggleEmulator, tmp_path: Path
) -> None:
    from kmenv.errors import NetworkError
    from kmenv.registry.kaggle import KaggleRegistry
    from kmenv.registry.kaggle.client import KaggleClient
    from kmenv.values.candidates import Candidate, FileEntry
    from kmenv.values.handles import Handle

    alice = {"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": ALICE_KEY}
    handle = Handle.parse(f"{PRIVATE}/1")
    candidate = Candidate(handle=handle, registry="kaggle", license=None, files=(FileEntry("secret.txt", 3, "0" * 64),))
    probes = people.requests_to

    bare = KaggleRegistry("kaggle", KaggleClient(people.url, env=alice), store=None, frameworks={})
    bare.authorise(candidate)
    bare.authorise(candidate)  # nothing is remembered without a cache: Kaggle is asked each time
    assert len(probes("DownloadModelInstanceVersion")) == 2

    registry = make_registry(people, tmp_path, env=alice)
    registry.authorise(candidate)
    assert registry.entitlements.allows(handle, registry.client.identity)
    registry.authorise(candidate)
    assert len(probes("DownloadModelInstanceVersion")) == 3  # remembered
    people.fault("DownloadModelInstanceVersion", status=503, times=4)
    with pytest.raises(NetworkError):
        make_registry(people, tmp_path, env=alice, refresh=True).authorise(candidate)
    assert registry.entitlements.allows(handle, registry.client.identity)  # an outage withdraws nothing


def test_a_blob_that_appears_while_installing_proves_nothing(
    people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import kmenv.actions.install as installing
    from kmenv.store.blobstore import Store

    who("alice")
    owner = _project(tmp_path / "owner", GATED)
    assert kmenv("-C", owner, "install").code == 0
    [locked] = json.loads((owner / "kmodels.lock").read_text())["models"]["m"]["files"]
    blob = Store(Path(os.environ["KMENV_CACHE_DIR"])).blob_path(locked["sha256"])
    data = blob.read_bytes()
    blob.unlink()
    planned = installing._check_space

    def alice_fetches_it_meanwhile(*args: object) -> None:
        blob.write_bytes(data)  # as a concurrent run would publish it, after bob's run planned its download
        planned(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(installing, "_check_space", alice_fetches_it_meanwhile)
    who("bob")
    clone = _project(tmp_path / "bob", GATED, like=owner)
    result = kmenv("-C", clone, "install")
    assert result.code == 5 and "licence must be accepted" in result.err
    assert _installed(clone) == []


def test_static_registries_are_not_opened_to_authorise(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    clone = example.parent / "clone"
    clone.mkdir()
    shutil.copy(example / "kmodels.lock", clone / "kmodels.lock")
    (clone / "kmodels.yaml").write_text("::: not read by a frozen install whose blobs are all present\n")
    result = kmenv("-C", clone, "install", "--frozen")
    assert result.code == 0, result.err
    assert (clone / ".kmenv" / "models").is_dir()


def test_records_in_use_outlive_gc_and_unused_ones_go(
    people: KaggleEmulator, kmenv: Runner, who: Who, tmp_path: Path, isolated_dirs: Path
) -> None:
    who("alice")
    owner = _project(tmp_path / "owner", PRIVATE)
    assert kmenv("-C", owner, "install").code == 0
    [marker] = isolated_dirs.glob("cache/http/kaggle/*/entitled/alice/private-thing/other/v1/1/id-*")
    month_ago = marker.stat().st_mtime - 40 * 86400
    os.utime(marker, (month_ago, month_ago))
    assert kmenv("-C", _project(tmp_path / "used", PRIVATE, like=owner), "--offline", "install").code == 0
    assert kmenv("gc").code == 0
    assert marker.is_file()  # used a moment ago: kept
    os.utime(marker, (month_ago, month_ago))
    assert kmenv("gc").code == 0
    assert not marker.exists()  # unused for a month: dropped like other metadata, so offline must ask again
    result = kmenv("-C", _project(tmp_path / "later", PRIVATE, like=owner), "--offline", "install")
    assert result.code == 5 and "offline: Kaggle has not yet authorised" in result.err
