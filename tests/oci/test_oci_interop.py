"""Interop both ways: what kmenv pushes, skopeo reads and copies; what plain HTTP calls push, kmenv installs."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kmenv.config import Settings
from kmenv.registry.oci import open_oci
from kmenv.values.handles import Handle
from oci.oci_helpers import files_of, push_by_hand, push_with_kmenv, write_model

if TYPE_CHECKING:
    from conftest import Runner

    from oci.conftest import RunningRegistry


def _skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        pytest.skip("skopeo is not installed (apt-get install skopeo)")
    return found


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_skopeo_reads_and_copies_what_kmenv_pushes(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path
) -> None:
    skopeo = _skopeo()
    files = files_of(3, "interop")
    result = push_with_kmenv(
        oci_registry.url(namespace), "acme/tiny/pyTorch/base", 3, write_model(tmp_path / "m", files)
    )
    reference = f"docker://{oci_registry.host}/{namespace}/acme/tiny/pytorch/base:3"

    raw = _run(skopeo, "inspect", "--raw", "--tls-verify=false", reference).stdout
    manifest = json.loads(raw)
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == result.manifest_digest
    assert manifest["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.model.config.v1+json"
    by_path = {layer["annotations"]["org.cncf.model.filepath"]: layer for layer in manifest["layers"]}
    assert set(by_path) == set(files)
    assert by_path["weights/model.safetensors"]["mediaType"] == "application/vnd.cncf.model.weight.v1.raw"
    assert manifest["annotations"]["org.kmenv.license"] == "Apache 2.0"

    config = json.loads(_run(skopeo, "inspect", "--raw", "--config", "--tls-verify=false", reference).stdout)
    assert config["descriptor"]["name"] == "acme/tiny/pyTorch/base"
    assert config["descriptor"]["version"] == "3" and config["descriptor"]["licenses"] == ["Apache-2.0"]
    assert config["modelfs"] == {"type": "layers", "diffIds": [layer["digest"] for layer in manifest["layers"]]}

    copied = tmp_path / "copied"
    _run(skopeo, "copy", "--src-tls-verify=false", reference, f"dir:{copied}")
    for path, data in files.items():
        blob = copied / by_path[path]["digest"].removeprefix("sha256:")
        assert blob.read_bytes() == data, path


def test_kmenv_installs_an_artifact_pushed_by_plain_http_calls(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    files = {"model.safetensors": b"\x01" * 5000, "tokenizer/vocab.txt": b"a\nb\nc\n"}
    push_by_hand(oci_registry.base, f"{namespace}/other/foreign/pytorch/default", "1", files)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  team:\n    url: {oci_registry.url(namespace)}\n"
        "models:\n  foreign: other/foreign/pyTorch/default\n"
    )
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    for path, data in files.items():
        assert (project / ".kmenv" / "models" / "foreign" / path).read_bytes() == data
    locked = json.loads((project / "kmodels.lock").read_text())["models"]["foreign"]
    assert locked["license"]["spdx"] == "MIT"  # from the config's descriptor.licenses
    assert {f["path"]: f["sha256"] for f in locked["files"]} == {
        p: hashlib.sha256(d).hexdigest() for p, d in files.items()
    }
    registry = open_oci("team", oci_registry.url(namespace), settings=Settings.load())
    with closing(registry):
        (candidate,) = registry.versions(Handle.parse("other/foreign/pyTorch/default"))
    assert candidate.published == "2025-03-04T03:06:07Z"  # the config's createdAt, in UTC
    assert candidate.license == "MIT" and candidate.title == f"{namespace}/other/foreign/pytorch/default"


def test_the_oras_sdk_pulls_what_kmenv_pushes(oci_registry: RunningRegistry, namespace: str, tmp_path: Path) -> None:
    oras_client = pytest.importorskip("oras.client", reason="the oras package is in the test extras")
    files = files_of(4, "oras")
    push_with_kmenv(oci_registry.url(namespace), "acme/tiny/pyTorch/base", 4, write_model(tmp_path / "m", files))
    client = oras_client.OrasClient(hostname=oci_registry.host, insecure=True)
    target = f"{oci_registry.host}/{namespace}/acme/tiny/pytorch/base:4"
    manifest = client.get_manifest(target)
    assert manifest["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    out = tmp_path / "pulled"
    pulled = client.pull(target=target, outdir=str(out))
    assert sorted(Path(p).relative_to(out).as_posix() for p in pulled) == sorted(files)
    for path, data in files.items():
        assert (out / path).read_bytes() == data


def test_kmenv_installs_what_the_oras_sdk_pushes(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    oras_client = pytest.importorskip("oras.client", reason="the oras package is in the test extras")
    files = {"model.gguf": b"GGUF" + b"\x00" * 2000, "params/config.json": b'{"n": 1}'}
    source = write_model(tmp_path / "src", files)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "descriptor": {"name": "oras-made", "licenses": ["Apache-2.0"], "createdAt": "2025-01-02T03:04:05Z"},
                "config": {"format": "gguf"},
                "modelfs": {"type": "layers", "diffIds": []},
            }
        )
    )
    annotations = tmp_path / "annotations.json"
    annotations.write_text(json.dumps({p: {"org.cncf.model.filepath": p} for p in files}))
    monkeypatch.chdir(source)  # oras names layers by the paths it is given
    client = oras_client.OrasClient(hostname=oci_registry.host, insecure=True)
    client.push(
        target=f"{oci_registry.host}/{namespace}/other/oras-made/gguf/q4:1",
        files=[f"{p}:application/vnd.cncf.model.weight.v1.raw" for p in files],
        manifest_config=f"{config}:application/vnd.cncf.model.config.v1+json",
        annotation_file=str(annotations),
        disable_path_validation=True,
    )
    project = tmp_path / "proj"
    project.mkdir()
    (project / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  team:\n    url: {oci_registry.url(namespace)}\n"
        "models:\n  q4: other/oras-made/gguf/q4\n"
    )
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    for path, data in files.items():
        assert (project / ".kmenv" / "models" / "q4" / path).read_bytes() == data
    assert json.loads((project / "kmodels.lock").read_text())["models"]["q4"]["license"]["spdx"] == "Apache-2.0"
