"""Pushing versions: what moves the first time, nothing the second, mounts instead of uploads, chunked uploads."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kmenv.config import Settings
from kmenv.errors import UsageError
from kmenv.registry.oci import open_client, open_oci
from kmenv.registry.oci.modelpack import VersionMetadata
from kmenv.registry.oci.push import PushFile, push_version
from kmenv.values.handles import Handle
from oci.oci_helpers import files_of, write_model
from oci.oci_proxy import running_proxy

if TYPE_CHECKING:
    from oci.conftest import RunningRegistry

HANDLE = Handle.parse("acme/tiny/pyTorch/base")
META = VersionMetadata(license="MIT", licenses=("MIT",), published="2024-05-01T00:00:00Z")


def _files(folder: Path, data: dict[str, bytes]) -> list[PushFile]:
    write_model(folder, data)
    return [
        PushFile(path, folder / path, hashlib.sha256(content).hexdigest(), len(content))
        for path, content in data.items()
    ]


def test_a_second_push_moves_nothing_and_the_version_reads_back(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path
) -> None:
    data = files_of(1)
    files = _files(tmp_path / "m", data)
    with closing(open_client("t", oci_registry.url(namespace), settings=Settings.load())) as client:
        first = push_version(client, HANDLE, 1, files, META)
        second = push_version(client, HANDLE, 1, [(f.path, f.blob, f.sha256, f.size) for f in files], META)
    assert first.manifest_pushed and first.blobs_uploaded == len(data) + 1  # the files and the config
    assert first.bytes_uploaded > sum(len(d) for d in data.values())  # the config blob went too
    assert (second.bytes_uploaded, second.blobs_uploaded, second.manifest_pushed) == (0, 0, False)
    assert second.manifest_digest == first.manifest_digest
    with closing(open_oci("t", oci_registry.url(namespace), settings=Settings.load())) as registry:
        (candidate,) = registry.versions(HANDLE)
    assert {f.path: f.sha256 for f in candidate.files} == {f.path: f.sha256 for f in files}
    assert candidate.license == "MIT" and candidate.published == "2024-05-01T00:00:00Z"


def test_a_new_version_uploads_only_the_changed_files_and_mounts_across_repositories(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path
) -> None:
    shared = b"\x42" * 10_000
    v1 = _files(tmp_path / "v1", {"big.bin": shared, "config.json": b'{"v": 1}'})
    v2 = _files(tmp_path / "v2", {"big.bin": shared, "config.json": b'{"v": 2}'})
    other = Handle.parse("acme/tiny-copy/pyTorch/base")
    with closing(open_client("t", oci_registry.url(namespace), settings=Settings.load())) as client:
        push_version(client, HANDLE, 1, v1, META)
        newer = push_version(client, HANDLE, 2, v2, META)
        mounted = push_version(client, other, 1, v1, META, mount_from=[HANDLE])
    assert newer.blobs_skipped == 1 and newer.bytes_uploaded < len(shared)  # big.bin was already there
    assert mounted.blobs_mounted == 2 and mounted.bytes_uploaded < 1000  # only the config (it names the handle)


def test_chunked_uploads_arrive_whole(oci_registry: RunningRegistry, namespace: str, tmp_path: Path) -> None:
    data = {"weights.bin": bytes(range(256)) * 1000}
    files = _files(tmp_path / "m", data)
    moved: list[int] = []
    with closing(open_client("t", oci_registry.url(namespace), settings=Settings.load())) as client:
        result = push_version(client, HANDLE, 1, files, META, chunk_size=64 * 1024, on_bytes=moved.append)
    assert result.blobs_uploaded == 2 and sum(moved) == result.bytes_uploaded
    assert moved[:4] == [65536, 65536, 65536, 256_000 - 3 * 65536]  # three full chunks and the rest
    repository = f"{namespace}/acme/tiny/pytorch/base"
    url = f"{oci_registry.base}/v2/{repository}/blobs/sha256:{files[0].sha256}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.read() == data["weights.bin"]


def test_pushing_through_a_token_server(oci_registry: RunningRegistry, namespace: str, tmp_path: Path) -> None:
    from oci.conftest import PASSWORD, USER
    from oci.oci_helpers import b64

    files = _files(tmp_path / "m", files_of(1))
    with running_proxy(oci_registry.host, bearer=(USER, PASSWORD)) as proxy:
        home = Path.home() / ".docker"
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.json").write_text(json.dumps({"auths": {proxy.host: {"auth": b64(f"{USER}:{PASSWORD}")}}}))
        with closing(open_client("t", proxy.url(namespace), settings=Settings.load())) as client:
            result = push_version(client, HANDLE, 1, files, META)
            push_version(client, Handle.parse("acme/other/pyTorch/base"), 1, files, META)
        scopes = [path for _, path, _ in proxy.seen if path.startswith("/token")]
        anonymous = [path for _, path, auth in proxy.seen if auth is None]
    assert result.manifest_pushed
    assert any("pull%2Cpush" in s for s in scopes) and any("acme%2Fother" in s for s in scopes)
    assert len(anonymous) == 1  # one challenge; the second repository's token is fetched before asking


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ([("../x", "a.bin", 1)], "cannot publish '../x'"),
        ([("a", "a.bin", 1), ("a", "a.bin", 1)], "listed twice"),
        ([("a", "a.bin", 999)], "is 1 bytes on disk, not 999"),
        ([("a", "missing.bin", 1)], "cannot read"),
    ],
)
def test_bad_push_input_is_refused_before_any_request(
    tmp_path: Path, files: list[tuple[str, str, int]], says: str
) -> None:
    (tmp_path / "a.bin").write_bytes(b"x")
    client = open_client("t", "oci+http://127.0.0.1:9/ns", settings=Settings.load())  # nothing listens on port 9
    with closing(client), pytest.raises(UsageError, match=says):
        push_version(client, HANDLE, 1, [(p, tmp_path / b, "0" * 64, n) for p, b, n in files], META)


def test_a_candidate_pushed_with_its_own_metadata_reads_back_the_same(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path
) -> None:
    from kmenv.registry.oci.push import metadata_for
    from kmenv.values.candidates import BaseModelRef, Candidate, FileEntry
    from kmenv.values.target import framework_requirements

    files = _files(tmp_path / "m", {"a.bin": b"abc"})
    original = Candidate(
        handle=Handle.parse("acme/chat/transformers/lora/4"),
        registry="t",
        license="Apache 2.0",
        requires=framework_requirements("transformers", {"transformers": "<5", "peft": ">=0.10"}),
        base=BaseModelRef(Handle.parse("acme/base"), ">=2", registry="t"),
        files=tuple(FileEntry(f.path, f.size, f.sha256) for f in files),
        title="Chat",
        published="2024-06-01T00:00:00Z",
    )
    with closing(open_client("t", oci_registry.url(namespace), settings=Settings.load())) as client:
        push_version(client, original.handle, 4, files, metadata_for(original, licenses=["Apache-2.0"]))
    with closing(open_oci("t", oci_registry.url(namespace), settings=Settings.load())) as registry:
        (back,) = registry.versions(original.handle)
    assert back.requires == original.requires
    assert (back.license, back.base, back.title, back.published) == (
        original.license,
        original.base,
        original.title,
        original.published,
    )
    assert [(f.path, f.size, f.sha256) for f in back.files] == [(f.path, f.size, f.sha256) for f in original.files]


def test_listings_follow_link_pages_and_stop_at_their_bounds(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kmenv.registry.oci.client as client_module
    import kmenv.registry.oci.registry as registry_module
    from kmenv.errors import RegistryError
    from oci.oci_proxy import running_proxy

    handles = [Handle.parse(f"acme/m{i}/pyTorch/base") for i in range(5)]
    with closing(open_client("t", oci_registry.url(namespace), settings=Settings.load())) as client:
        for version in range(1, 6):
            push_version(client, HANDLE, version, _files(tmp_path / str(version), files_of(version)), META)
        for handle in handles:
            push_version(client, handle, 1, _files(tmp_path / "1", files_of(1)), META)
    monkeypatch.setattr(client_module, "_PAGE_SIZE", 2)
    with running_proxy(oci_registry.host) as proxy:
        with closing(open_oci("t", proxy.url(namespace), settings=Settings.load())) as registry:
            assert set(handles) <= set(registry.list_all())
            assert [c.version for c in registry.versions(HANDLE)] == [5, 4, 3, 2, 1]
        assert proxy.hits("/_catalog") >= 3  # pages of 2, following the Link header
        monkeypatch.setattr(registry_module, "MAX_TAGS", 3)
        monkeypatch.setattr(registry_module, "MAX_REPOSITORIES", 3)
        with closing(open_oci("t", proxy.url(namespace), settings=Settings.load())) as registry:
            with pytest.raises(RegistryError, match="more than 3 entries"):
                registry.versions(HANDLE)
            with pytest.raises(RegistryError, match=r"^registry 't': listing its repositories: more than 3 entries"):
                registry.list_all()
