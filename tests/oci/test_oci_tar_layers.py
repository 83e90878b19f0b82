"""ModelPack artifacts with tar layers (what modctl pushes by default), made here with urllib and tarfile only.

A tar layer is verified by its digest, then unpacked by the store's archive rules: each member becomes
its own blob and its own line in the lock. Hostile layers (links, escaping names, members outside their
annotation, duplicates, devices, a compression kmenv cannot read, bytes that betray the digest) get one
line with the fix, and neither the project nor the store gains anything but the proven layer blob.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import stat
import tarfile
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from oci.oci_helpers import upload_blob
from oci.oci_proxy import running_proxy

if TYPE_CHECKING:
    from conftest import Result, Runner

    from oci.conftest import RunningRegistry

REPOSITORY = "acme/tiny/pytorch/base"
PREFIX = "application/vnd.cncf.model."


@dataclass
class Entry:
    """One tar member: a regular file unless ``kind`` says otherwise."""

    name: str
    data: bytes = b""
    kind: bytes = tarfile.REGTYPE
    link: str = ""
    mode: int = 0o644


@dataclass
class Layer:
    """One layer: ``entries`` tarred (``compression`` "", "gzip" or "zstd"), or ``raw`` bytes; its annotation."""

    role: str
    entries: Sequence[Entry] = ()
    raw: bytes | None = None
    path: str | None = None
    compression: str = ""
    annotations: dict[str, str] = field(default_factory=dict)


def _tar(entries: Sequence[Entry], compression: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type, info.linkname, info.mode, info.mtime = entry.kind, entry.link, entry.mode, 0
            info.size = len(entry.data) if entry.kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(entry.data) if entry.kind == tarfile.REGTYPE else None)
    data = out.getvalue()
    return gzip.compress(data, mtime=0) if compression == "gzip" else data


def push_tarred(base: str, repository: str, tag: str, layers: Sequence[Layer]) -> dict[str, str]:
    """Push a ModelPack artifact of ``layers`` by hand; returns each layer's digest by its annotation path."""
    descriptors: list[dict[str, Any]] = []
    digests: dict[str, str] = {}
    for layer in layers:
        if layer.raw is not None:
            blob, media = layer.raw, f"{PREFIX}{layer.role}.v1.raw"
        else:
            blob = _tar(layer.entries, layer.compression)
            media = f"{PREFIX}{layer.role}.v1.tar" + (f"+{layer.compression}" if layer.compression else "")
        digest = upload_blob(base, repository, blob)
        annotations = dict(layer.annotations)
        if layer.path is not None:
            annotations["org.cncf.model.filepath"] = layer.path
        descriptors.append({"mediaType": media, "digest": digest, "size": len(blob), "annotations": annotations})
        digests[layer.path or str(len(digests))] = digest
    config = json.dumps(
        {
            "descriptor": {"name": "tiny", "licenses": ["Apache-2.0"], "createdAt": "2025-01-02T03:04:05Z"},
            "config": {"format": "safetensors"},
            "modelfs": {"type": "layers", "diffIds": [d["digest"] for d in descriptors]},
        }
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.cncf.model.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.cncf.model.config.v1+json",
            "digest": upload_blob(base, repository, config),
            "size": len(config),
        },
        "layers": descriptors,
    }
    request = urllib.request.Request(
        f"{base}/v2/{repository}/manifests/{tag}",
        data=json.dumps(manifest).encode(),
        method="PUT",
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201
    return digests


WEIGHTS = bytes(range(256)) * 40
FILES = {
    "model.safetensors": WEIGHTS,
    "config.json": b'{"hidden": 8}',
    "tokenizer/vocab.txt": b"a\nb\nc\n",
    "tokenizer/merges.txt": b"a b\n",
    "run.sh": b"#!/bin/sh\necho hi\n",
    "README.md": b"# tiny\n",
}


def _modctl_like() -> list[Layer]:
    """The layers modctl makes of a folder: a tar per file (paths from the folder), a tar+gzip of a folder, raw."""
    return [
        Layer("weight", [Entry("model.safetensors", WEIGHTS)], path="model.safetensors"),
        Layer("weight.config", [Entry("./config.json", FILES["config.json"])], path="config.json"),
        Layer(
            "weight.config",
            [
                Entry("tokenizer", kind=tarfile.DIRTYPE, mode=0o755),
                Entry("tokenizer/vocab.txt", FILES["tokenizer/vocab.txt"]),
                Entry("tokenizer/merges.txt", FILES["tokenizer/merges.txt"], mode=0o666),
            ],
            path="tokenizer",
            compression="gzip",
        ),
        Layer("code", [Entry("run.sh", FILES["run.sh"], mode=0o4777)], path="run.sh"),  # set-uid, world-writable
        Layer("doc", raw=FILES["README.md"], path="README.md"),
    ]


def _project(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  team:\n    url: {url}\nmodels:\n  tiny: acme/tiny/pyTorch/base\n"
    )
    return folder


def test_tar_layers_install_file_by_file_with_their_own_sha256(
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    isolated_dirs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    push_tarred(oci_registry.base, f"{namespace}/{REPOSITORY}", "1", _modctl_like())
    project = _project(tmp_path / "proj", oci_registry.url(namespace))
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    locked = json.loads((project / "kmodels.lock").read_text())["models"]["tiny"]
    assert {f["path"]: (f["size"], f["sha256"]) for f in locked["files"]} == {
        path: (len(data), hashlib.sha256(data).hexdigest()) for path, data in FILES.items()
    }
    assert locked["license"]["spdx"] == "Apache-2.0"
    models = project / ".kmenv" / "models" / "tiny"
    for path, data in FILES.items():
        assert (models / path).read_bytes() == data
        mode = (models / path).stat().st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWGRP | stat.S_IWOTH), (path, oct(mode))
    assert kmenv("-C", project, "validate").code == 0

    # another machine: only the lock and the registry; the layers are fetched and unpacked again
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "other-cache"))
    other = _project(tmp_path / "other", oci_registry.url(namespace))
    (other / "kmodels.lock").write_bytes((project / "kmodels.lock").read_bytes())
    again = kmenv("-C", other, "install", "--locked")
    assert again.code == 0, again.err
    for path, data in FILES.items():
        assert (other / ".kmenv" / "models" / "tiny" / path).read_bytes() == data
    assert (other / "kmodels.lock").read_bytes() == (project / "kmodels.lock").read_bytes()


@pytest.mark.parametrize("to", ["folder", "registry"])
def test_a_kmenv_mirror_of_tar_layers_serves_them_as_raw_files(
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    monkeypatch: pytest.MonkeyPatch,
    to: str,
) -> None:
    push_tarred(oci_registry.base, f"{namespace}/{REPOSITORY}", "1", _modctl_like())
    project = _project(tmp_path / "proj", oci_registry.url(namespace))
    assert kmenv("-C", project, "lock").code == 0
    mirror = str(tmp_path / "mirror") if to == "folder" else oci_registry.url(f"{namespace}-mirror")
    result = kmenv("-C", project, "mirror", "--to", mirror)
    assert result.code == 0, result.err
    if to == "registry":
        url = f"{oci_registry.base}/v2/{namespace}-mirror/{REPOSITORY}/manifests/1"
        accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
        with urllib.request.urlopen(urllib.request.Request(url, headers=accept), timeout=10) as answer:
            layers = json.load(answer)["layers"]
        assert sorted(x["annotations"]["org.cncf.model.filepath"] for x in layers) == sorted(FILES)
        assert all(x["mediaType"].endswith(".raw") for x in layers)
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "other-cache"))
    other = _project(tmp_path / "other", mirror)
    assert kmenv("-C", other, "install").code == 0
    lock = json.loads((other / "kmodels.lock").read_text())["models"]["tiny"]["files"]
    assert lock == json.loads((project / "kmodels.lock").read_text())["models"]["tiny"]["files"]
    for path, data in FILES.items():
        assert (other / ".kmenv" / "models" / "tiny" / path).read_bytes() == data


def _snapshot(*folders: Path) -> dict[str, bytes]:
    found = {str(p): p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}
    return {k: v for k, v in found.items() if not k.endswith((".kmenv/.lock", ".kmenv/.gitignore"))}


def _only_layers_came(before: Mapping[str, bytes], after: Mapping[str, bytes], layers: Sequence[str]) -> None:
    """Nothing changed but the store gaining the proven layer blobs (with their seals and empty lock files)."""
    assert {k: v for k, v in after.items() if k in before} == dict(before)
    shas = {d.removeprefix("sha256:") for d in layers}
    for path, data in after.items():
        if path in before:
            continue
        name = Path(path).name
        if "/cache/locks/" in path:
            assert data == b"", path
        else:
            assert name in shas and ("/cache/blobs/" in path or "/cache/verified/" in path), path
            if "/cache/blobs/" in path:
                assert hashlib.sha256(data).hexdigest() == name


def _one_line(result: Result, code: int, says: str, hint: str) -> None:
    assert result.code == code, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0], result.err
    assert any(line.startswith("hint:") and hint in line for line in result.err.splitlines()), result.err
    assert "Traceback" not in result.err


_GOOD = Entry("model.safetensors", WEIGHTS)


@pytest.mark.parametrize(
    ("entries", "path", "says"),
    [
        ([_GOOD, Entry("link", kind=tarfile.SYMTYPE, link="/etc/passwd")], None, "'link', which is a link"),
        ([_GOOD, Entry("hard", kind=tarfile.LNKTYPE, link="model.safetensors")], None, "'hard', which is a link"),
        ([_GOOD, Entry("dev", kind=tarfile.CHRTYPE)], None, "'dev', which is a link or special file"),
        ([_GOOD, Entry("../escape.bin", b"x")], None, "'../escape.bin', which would land outside"),
        ([_GOOD, Entry("/etc/evil", b"x")], None, "'/etc/evil', which would land outside"),
        ([_GOOD, Entry("model.safetensors", b"again")], None, "'model.safetensors', which appears twice"),
        ([_GOOD, Entry("other.bin", b"x")], "model.safetensors", "'other.bin', which lies outside 'model.safetensors'"),
    ],
    ids=["symlink", "hardlink", "device", "dot-dot", "absolute", "duplicate", "outside-annotation"],
)
def test_hostile_tar_layers_are_refused_before_any_member_is_stored(
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    isolated_dirs: Path,
    entries: list[Entry],
    path: str | None,
    says: str,
) -> None:
    layers = [Layer("weight", entries, path=path)]
    digests = push_tarred(oci_registry.base, f"{namespace}/{REPOSITORY}", "1", layers)
    project = _project(tmp_path / "proj", oci_registry.url(namespace))
    before = _snapshot(tmp_path, isolated_dirs)
    result = kmenv("-C", project, "install")
    _one_line(result, 6, says, "the layer is unsafe to unpack; push the model again")
    _only_layers_came(before, _snapshot(tmp_path, isolated_dirs), list(digests.values()))
    assert not (project / "kmodels.lock").exists() and not (tmp_path / "escape.bin").exists()


def test_a_compression_kmenv_cannot_unpack_is_named_and_nothing_is_fetched(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    layers = [Layer("weight", [_GOOD], path="model.safetensors", compression="zstd")]  # bytes left plain: unread
    push_tarred(oci_registry.base, f"{namespace}/{REPOSITORY}", "1", layers)
    project = _project(tmp_path / "proj", oci_registry.url(namespace))
    before = _snapshot(tmp_path, isolated_dirs)
    result = kmenv("-C", project, "install")
    _one_line(result, 2, "media type 'application/vnd.cncf.model.weight.v1.tar+zstd', a compression", "raw, plain tar")
    _only_layers_came(before, _snapshot(tmp_path, isolated_dirs), [])


def test_a_layer_whose_bytes_are_not_its_media_type_is_refused(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    plain = _tar([_GOOD], "")
    digest = upload_blob(oci_registry.base, f"{namespace}/{REPOSITORY}", plain)
    layers = [Layer("weight", [_GOOD], path="model.safetensors", compression="gzip")]
    pushed = push_tarred(oci_registry.base, f"{namespace}/{REPOSITORY}", "1", layers)
    # the same layer again, but naming the plain tar's blob under the gzip media type
    manifest_url = f"{oci_registry.base}/v2/{namespace}/{REPOSITORY}/manifests/1"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    with urllib.request.urlopen(urllib.request.Request(manifest_url, headers=accept), timeout=10) as answer:
        manifest = json.load(answer)
    manifest["layers"][0].update(digest=digest, size=len(plain))
    put = urllib.request.Request(
        manifest_url, data=json.dumps(manifest).encode(), method="PUT", headers={"Content-Type": accept["Accept"]}
    )
    urllib.request.urlopen(put, timeout=10).close()
    project = _project(tmp_path / "proj", oci_registry.url(namespace))
    before = _snapshot(tmp_path, isolated_dirs)
    result = kmenv("-C", project, "install")
    _one_line(result, 6, "is not a valid gzip-compressed tar", "not what its media type says")
    _only_layers_came(before, _snapshot(tmp_path, isolated_dirs), [digest, *pushed.values()])


def test_a_tar_layer_whose_bytes_betray_its_digest_never_reaches_the_store(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    digests = push_tarred(oci_registry.base, f"{namespace}/{REPOSITORY}", "1", _modctl_like()[:1])
    layer = digests["model.safetensors"]
    with running_proxy(oci_registry.host, corrupt=[f"/blobs/{layer}"]) as proxy:
        project = _project(tmp_path / "proj", proxy.url(namespace))
        before = _snapshot(tmp_path, isolated_dirs)
        result = kmenv("-C", project, "install")
        assert proxy.hits(layer) >= 1
    _one_line(result, 6, "layer 1 (tar)", "")
    assert "sha256" in result.err
    _only_layers_came(before, _snapshot(tmp_path, isolated_dirs), [])


def test_a_layer_with_more_members_than_allowed_is_refused_before_reading_them_all(
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    isolated_dirs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("kmenv.store.archives.MAX_MEMBERS", 3)  # the real bound is 100,000: too big to build here
    entries = [Entry(f"shard-{i}.bin", bytes([i]) * 10) for i in range(5)]
    digests = push_tarred(oci_registry.base, f"{namespace}/{REPOSITORY}", "1", [Layer("weight", entries)])
    project = _project(tmp_path / "proj", oci_registry.url(namespace))
    before = _snapshot(tmp_path, isolated_dirs)
    result = kmenv("-C", project, "install")
    _one_line(result, 6, "'shard-3.bin', which is past the 3 members an archive may hold", "unsafe to unpack")
    _only_layers_came(before, _snapshot(tmp_path, isolated_dirs), list(digests.values()))


def test_listing_versions_does_not_download_tar_layers(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    digests = push_tarred(oci_registry.base, f"{namespace}/{REPOSITORY}", "1", _modctl_like())
    project = _project(tmp_path / "proj", oci_registry.url(namespace))
    result = kmenv("-C", project, "versions", "acme/tiny/pyTorch/base", "--registry", "team", "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [(r["version"], r["files"]) for r in rows["versions"]] == [(1, None)]  # unknown until unpacked
    text = kmenv("-C", project, "versions", "acme/tiny/pyTorch/base", "--registry", "team")
    assert text.code == 0 and "Traceback" not in text.err, text.err
    for digest in digests.values():
        assert not (isolated_dirs / "cache" / "blobs" / "sha256" / digest[7:9] / digest[7:]).exists()
