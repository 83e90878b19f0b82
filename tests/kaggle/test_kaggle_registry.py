"""KaggleRegistry: candidates from the API, lazy file listing, sha256s learned safely, the metadata cache."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from catalogue import ALICE_TOKEN, bert_files, make_registry
from kaggle_emulator import KaggleEmulator, iter_files

from kmenv.errors import EXIT_INTEGRITY, IntegrityError, RegistryError, UsageError
from kmenv.registry.base import Registry
from kmenv.registry.kaggle.archive import unpack_into_store
from kmenv.registry.kaggle.mapping import RemoteFile, framework_enum, load_framework_table, parse_instance
from kmenv.registry.kaggle.registry import parse_goog_hash
from kmenv.store.blobstore import Store
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

BERT = Handle.parse("keras/bert/keras/bert_tiny_en_uncased")
CHAT = Handle.parse("acme/chat-llm/pyTorch/small-chat")
SHARDS = Handle.parse("acme/shards/pyTorch/many")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_implements_the_registry_protocol(emulator: KaggleEmulator, tmp_path: Path) -> None:
    assert isinstance(make_registry(emulator, tmp_path), Registry)


def test_versions_are_newest_first_without_listing_files(emulator: KaggleEmulator, tmp_path: Path) -> None:
    candidates = make_registry(emulator, tmp_path).versions(CHAT)
    assert [c.version for c in candidates] == [2, 1]
    first = candidates[0]
    assert first.license == "MIT" and first.files == () and first.title == "Chat LLM"
    assert first.requires == {"torch": ""}
    assert first.base is not None and str(first.base.handle) == "acme/base-llm/pyTorch/small"
    assert emulator.requests_to("ListModelInstanceVersionFiles") == []


def test_instances_list_every_framework_and_variation(emulator: KaggleEmulator, tmp_path: Path) -> None:
    assert [str(h) for h in make_registry(emulator, tmp_path).instances("keras", "bert")] == [str(BERT)]


def test_files_learn_sha256_from_verified_downloads_then_from_memory(emulator: KaggleEmulator, tmp_path: Path) -> None:
    registry = make_registry(emulator, tmp_path)
    candidate = registry.versions(BERT)[0]
    entries = registry.files(candidate)
    expected = bert_files(2)
    assert [e.path for e in entries] == sorted(expected)
    assert all(e.sha256 == sha(expected[e.path]) and e.size == len(expected[e.path]) for e in entries)
    assert all(registry.store is not None and registry.store.has(e) for e in entries)
    assert all(set(e.digests) == {"md5"} for e in entries)
    downloads = len(emulator.requests_to("DownloadModelInstanceVersion"))
    again = make_registry(emulator, tmp_path).files(candidate)  # a new run: learned hashes are reused
    assert again == entries
    assert len(emulator.requests_to("DownloadModelInstanceVersion")) == downloads


def test_blobs_already_in_the_store_are_found_by_md5_without_downloading(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    first = make_registry(emulator, tmp_path)
    first.files(first.versions(BERT)[1])  # version 1 shares config.json and vocabulary.txt with version 2
    blob_gets_before = len(emulator.requests_to("blob"))
    # The shared files' replies are cut mid-body: reading a body would fail and retry. Their md5 in the
    # reply headers is already in the store's index, so kmenv stops there and never notices.
    for shared in ("config.json", "assets/tokenizer/vocabulary.txt"):
        emulator.fault("blob", "drop", path=shared)
    second = make_registry(emulator, tmp_path)
    entries = {e.path: e for e in second.files(second.versions(BERT)[0])}
    blob_gets = emulator.requests_to("blob")[blob_gets_before:]
    assert len(blob_gets) == 4 and all("Range" not in s.headers for s in blob_gets)  # one each, no probe, no retry
    assert entries["config.json"].digests["md5"], "the md5 that named the known blob is recorded"


def test_a_lock_entry_is_trusted_without_any_download(emulator: KaggleEmulator, tmp_path: Path) -> None:
    files = bert_files(2)
    locked = tuple(FileEntry(p, len(b), sha(b)) for p, b in sorted(files.items()))
    candidate = Candidate(BERT.with_version(2), "kaggle", "Apache 2.0", files=locked)
    entries = make_registry(emulator, tmp_path).files(candidate)
    assert [e.sha256 for e in entries] == [e.sha256 for e in locked]
    assert emulator.requests_to("DownloadModelInstanceVersion") == []


def test_more_than_25_files_come_as_one_archive_unpacked_into_the_store(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    registry = make_registry(emulator, tmp_path)
    entries = registry.files(registry.versions(SHARDS)[0])
    expected = dict(iter_files(30))
    assert len(entries) == 30 and all(e.sha256 == sha(expected[e.path]) for e in entries)
    downloads = emulator.requests_to("DownloadModelInstanceVersion")
    assert len(downloads) == 1 and downloads[0].body is not None and "path" not in downloads[0].body


def test_a_zip_archive_is_accepted_too(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("archive", kind="zip")
    registry = make_registry(emulator, tmp_path)
    assert len(registry.files(registry.versions(SHARDS)[0])) == 30


def test_an_archive_far_longer_than_its_files_is_refused_early(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("archive", kind="padded")
    registry = make_registry(emulator, tmp_path)
    with pytest.raises(IntegrityError, match=r"more than \d+ bytes, the most accepted"):
        registry.files(registry.versions(SHARDS)[0])
    partial = registry.store.root / "partial" if registry.store else tmp_path
    assert not partial.exists() or not any(partial.iterdir()), "the junk is not kept"


def test_wrong_md5_fails_cleanly_and_keeps_nothing(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("blob", kind="wrong_md5", path="adapter.bin", times=5)
    registry = make_registry(emulator, tmp_path)
    with pytest.raises(IntegrityError) as info:
        registry.files(registry.versions(CHAT)[0])
    assert info.value.exit_code == EXIT_INTEGRITY and "md5" in info.value.message
    assert not list((tmp_path / "blobs").rglob("*")) or all(p.is_dir() for p in (tmp_path / "blobs").rglob("*"))
    assert [p for p in (tmp_path / "partial").glob("*") if p.stat().st_size] == []


def test_a_dropped_download_resumes_and_a_200_instead_of_206_restarts(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("blob", kind="drop", path="model.weights.h5")
    emulator.fault("blob", kind="ignore_range", path="model.weights.h5")
    registry = make_registry(emulator, tmp_path)
    entries = {e.path: e for e in registry.files(registry.versions(BERT)[0])}
    assert entries["model.weights.h5"].sha256 == sha(bert_files(2)["model.weights.h5"])


def test_gated_download_says_the_licence_needs_accepting_with_the_page(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    registry = make_registry(emulator, tmp_path, env={"KAGGLE_API_TOKEN": ALICE_TOKEN})
    candidate = registry.versions(Handle.parse("google/gemma/pyTorch/2b"))[0]
    with pytest.raises(RegistryError) as info:
        registry.files(candidate)
    assert "licence must be accepted" in info.value.message
    assert info.value.hint is not None and "https://www.kaggle.com/models/google/gemma/pyTorch/2b" in info.value.hint
    emulator.consented.add("alice")
    assert len(registry.files(candidate)) == 1


def test_downloads_never_carry_credentials_to_the_blob_host(emulator: KaggleEmulator, tmp_path: Path) -> None:
    registry = make_registry(emulator, tmp_path, env={"KAGGLE_API_TOKEN": ALICE_TOKEN})
    registry.files(registry.versions(CHAT)[0])
    assert emulator.requests_to("blob") and all("Authorization" not in s.headers for s in emulator.requests_to("blob"))
    assert all(s.headers.get("Authorization") for s in emulator.requests_to("DownloadModelInstanceVersion"))


def test_source_is_the_rpc_request_never_a_signed_url(emulator: KaggleEmulator, tmp_path: Path) -> None:
    registry = make_registry(emulator, tmp_path)
    candidate = registry.versions(CHAT)[0]
    source = registry.source(candidate, FileEntry("adapter.bin", 1, "0" * 64))
    assert source.url.endswith("/models.ModelApiService/DownloadModelInstanceVersion") and source.method == "POST"
    assert source.json == {
        **{
            "ownerSlug": "acme",
            "modelSlug": "chat-llm",
            "framework": "MODEL_FRAMEWORK_PY_TORCH",
            "instanceSlug": "small-chat",
        },
        "versionNumber": 2,
        "path": "adapter.bin",
    }


# -- metadata cache ----------------------------------------------------------------------------


def test_fresh_answers_come_from_the_cache(emulator: KaggleEmulator, tmp_path: Path) -> None:
    make_registry(emulator, tmp_path).instance_info(BERT)
    make_registry(emulator, tmp_path).instance_info(BERT)
    assert len(emulator.requests_to("GetModelInstance")) == 1


def test_stale_answers_are_revalidated_with_their_etag(emulator: KaggleEmulator, tmp_path: Path) -> None:
    make_registry(emulator, tmp_path, ttl=0).instance_info(BERT)
    make_registry(emulator, tmp_path, ttl=0).instance_info(BERT)
    second = emulator.requests_to("GetModelInstance")[1]
    assert second.headers.get("If-None-Match")


def test_refresh_bypasses_the_cache(emulator: KaggleEmulator, tmp_path: Path) -> None:
    make_registry(emulator, tmp_path).instance_info(BERT)
    make_registry(emulator, tmp_path, refresh=True).instance_info(BERT)
    second = emulator.requests_to("GetModelInstance")[1]
    assert "If-None-Match" not in second.headers


def test_offline_serves_the_cache_and_names_what_is_missing(emulator: KaggleEmulator, tmp_path: Path) -> None:
    online = make_registry(emulator, tmp_path)
    online.files(online.versions(CHAT)[0])
    online.list_files(CHAT.with_version(1))  # listed, but its hashes never learned
    seen = len(emulator.seen)
    offline = make_registry(emulator, tmp_path, offline=True)
    assert [e.path for e in offline.files(offline.versions(CHAT)[0])] == ["adapter.bin"]
    assert len(emulator.seen) == seen
    with pytest.raises(RegistryError) as info:
        offline.versions(BERT)
    assert "offline" in info.value.message and "keras/bert/keras/bert_tiny_en_uncased" in info.value.message
    with pytest.raises(RegistryError, match="sha256 of 1 file"):
        offline.files(offline.versions(CHAT)[1])


# -- mapping -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("framework", "enum"),
    [
        ("pyTorch", "MODEL_FRAMEWORK_PY_TORCH"),
        ("tensorFlow2", "MODEL_FRAMEWORK_TENSOR_FLOW_2"),
        ("tensorRtLlm", "MODEL_FRAMEWORK_TENSOR_RT_LLM"),
        ("scikitLearn", "MODEL_FRAMEWORK_SCIKIT_LEARN"),
        ("gemmaCpp", "MODEL_FRAMEWORK_GEMMA_CPP"),
        ("vllm", "MODEL_FRAMEWORK_VLLM"),
    ],
)
def test_framework_enum_names(framework: str, enum: str) -> None:
    assert framework_enum(framework) == enum


def test_parsing_tolerates_short_enums_unknown_fields_and_owner_objects() -> None:
    info = parse_instance(
        {
            "slug": "x",
            "framework": "PyTorch",
            "versionNumber": "3",
            "license": {"name": "MIT"},
            "new": [1],
            "baseModelInstanceInformation": {
                "owner": {"slug": "o"},
                "modelSlug": "m",
                "instanceSlug": "b",
                "framework": "transformers",
            },
        },
        "acme",
        "thing",
    )
    assert info is not None and str(info.handle) == "acme/thing/pyTorch/x" and info.latest == 3
    assert info.license == "MIT" and str(info.base) == "o/m/transformers/b"
    assert parse_instance({"slug": "x", "framework": 5}, "a", "b") is None  # integer enums are not accepted


def test_older_versions_keep_the_licence_seen_while_they_were_current(emulator: KaggleEmulator, tmp_path: Path) -> None:
    make_registry(emulator, tmp_path).instance_info(CHAT)  # sees version 2 under MIT
    emulator.models["acme", "chat-llm"].instances[0].license = "CC BY-NC-SA 4.0"
    emulator.models["acme", "chat-llm"].instances[0].versions[3] = {"adapter.bin": b"v3"}
    licences = {c.version: c.license for c in make_registry(emulator, tmp_path, refresh=True).versions(CHAT)}
    assert licences == {3: "CC BY-NC-SA 4.0", 2: "MIT", 1: "CC BY-NC-SA 4.0"}  # 1 was never seen: current stands in


def test_framework_table_override_file(tmp_path: Path) -> None:
    (tmp_path / "frameworks.json").write_text(
        json.dumps({"PyTorch": {"torch": ">=2.1"}, "gguf": {"llama-cpp-python": ""}})
    )
    table = load_framework_table(tmp_path)
    assert table["pyTorch"] == {"torch": ">=2.1"} and table["gguf"] == {"llama-cpp-python": ""}
    assert table["keras"] == {"keras": ">=3"}


@pytest.mark.parametrize("content", ['{"sklearn": {}}', '{"pyTorch": {"torch": "~~2"}}', "[1]"])
def test_bad_framework_table_is_a_usage_error_naming_the_file(tmp_path: Path, content: str) -> None:
    (tmp_path / "frameworks.json").write_text(content)
    with pytest.raises(UsageError, match=r"frameworks\.json"):
        load_framework_table(tmp_path)


def test_goog_hash_parsing() -> None:
    assert parse_goog_hash("crc32c=AAAA==, md5=BBBB==") == {"crc32c": "AAAA==", "md5": "BBBB=="}
    assert parse_goog_hash("garbage") == {} and parse_goog_hash(None) == {}


# -- safe unpacking ------------------------------------------------------------------------------


def _tar(members: list[tarfile.TarInfo], data: bytes = b"") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for info in members:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


@pytest.mark.parametrize(
    "member",
    [
        _member("../escape.bin", size=3),
        _member("/etc/passwd", size=3),
        _member("link.bin", tarfile.SYMTYPE, link="/etc/passwd"),
        _member("hard.bin", tarfile.LNKTYPE, link="a.bin"),
        _member("dev", tarfile.CHRTYPE),
        _member("fifo", tarfile.FIFOTYPE),
    ],
    ids=["dotdot", "absolute", "symlink", "hardlink", "device", "fifo"],
)
def test_unsafe_tar_members_are_refused_before_anything_is_stored(tmp_path: Path, member: tarfile.TarInfo) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar([_member("a.bin", size=3), member], b"abc"))
    store = Store(tmp_path / "store")
    with pytest.raises(IntegrityError, match="nothing from it was used"):
        unpack_into_store(store, archive, {"a.bin": RemoteFile("a.bin", 3)}, label="x")
    assert not (tmp_path / "store" / "blobs").exists()


def test_zip_symlinks_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(IntegrityError, match="link"):
        unpack_into_store(Store(tmp_path / "s"), archive, {}, label="x")


def test_member_size_must_match_the_listing(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar([_member("a.bin", size=3)], b"abc"))
    with pytest.raises(IntegrityError, match="3 bytes where Kaggle lists 4"):
        unpack_into_store(Store(tmp_path / "s"), archive, {"a.bin": RemoteFile("a.bin", 4)}, label="x")


def test_exactly_25_files_are_learned_one_by_one(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.add_instance("acme", "shards", "pyTorch", "twenty-five", {1: dict(iter_files(25, prefix="p"))})
    registry = make_registry(emulator, tmp_path)
    entries = registry.files(registry.versions(Handle.parse("acme/shards/pyTorch/twenty-five"))[0])
    assert len(entries) == 25
    bodies = [s.body or {} for s in emulator.requests_to("DownloadModelInstanceVersion")]
    assert bodies and all("path" in b for b in bodies)


def test_a_blob_without_x_goog_hash_still_verifies_by_size_and_is_locked_without_md5(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    emulator.fault("blob", kind="no_hash", path="adapter.bin", times=2)
    registry = make_registry(emulator, tmp_path)
    (entry,) = registry.files(registry.versions(CHAT)[0])
    assert entry.digests == {} and entry.sha256 == sha(b"adapter v2" * 20)


def test_blob_5xx_is_retried_by_the_download(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("blob", kind="status", status=503, path="adapter.bin", times=2)
    registry = make_registry(emulator, tmp_path)
    (entry,) = registry.files(registry.versions(CHAT)[0])
    assert entry.sha256 == sha(b"adapter v2" * 20)
