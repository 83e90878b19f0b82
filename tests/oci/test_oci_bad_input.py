"""Hostile or broken registries: each gets one located line with the fix, and nothing changes on disk.

The registry is the real docker-registry; what Distribution cannot be made to do (lie about a blob,
answer 403/429/5xx) comes from the proxy in ``oci_proxy.py`` in front of it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kmenv.store.blobstore import Store
from oci.oci_helpers import files_of, push_by_hand, push_with_kmenv, write_model
from oci.oci_proxy import running_proxy

if TYPE_CHECKING:
    from conftest import Result, Runner

    from oci.conftest import RunningRegistry

HANDLE = "acme/tiny/pyTorch/base"
FILES = {"model.safetensors": b"\x07" * 3000, "config.json": b'{"a": 1}'}


def _project(tmp_path: Path, url: str, handle: str = HANDLE) -> Path:
    project = tmp_path / "proj"
    project.mkdir(parents=True, exist_ok=True)
    (project / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  team:\n    url: {url}\nmodels:\n  tiny: {handle}\n"
    )
    return project


#: What ``install`` creates before it asks any registry (the environment's lock file and .gitignore).
_BOOKKEEPING = {".kmenv/.lock", ".kmenv/.gitignore"}


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes, but for the installer's empty bookkeeping files."""
    found = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return {k: v for k, v in found.items() if not any(k.endswith(b) for b in _BOOKKEEPING)}


def _one_line(result: Result, *, code: int, says: str, hint: str) -> None:
    assert result.code == code, result.err
    lines = [line for line in result.err.splitlines() if line and not line.startswith("resolving")]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0], result.err
    assert any(line.startswith("hint:") and hint in line for line in lines), result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("options", "says", "hint"),
    [
        (
            {"artifact_type": "application/vnd.example.dataset+json"},
            "not a ModelPack model (artifactType 'application/vnd.example.dataset+json'",
            "push models in ModelPack format",
        ),
        ({"paths": {"model.safetensors": None}}, "has no org.cncf.model.filepath annotation", "annotation"),
        ({"paths": {"model.safetensors": "../../outside.bin"}}, "path '../../outside.bin' is unsafe", "push the"),
        ({"paths": {"model.safetensors": "/etc/evil"}}, "path '/etc/evil' is unsafe", "push the"),
    ],
    ids=["other-artifact-type", "no-filepath", "dot-dot", "absolute"],
)
def test_a_broken_artifact_is_refused_before_anything_is_written(
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    options: dict[str, object],
    says: str,
    hint: str,
) -> None:
    push_by_hand(oci_registry.base, f"{namespace}/acme/tiny/pytorch/base", "1", FILES, **options)  # type: ignore[arg-type]
    project = _project(tmp_path, oci_registry.url(namespace))
    before = _snapshot(tmp_path)
    _one_line(kmenv("-C", project, "install"), code=2, says=says, hint=hint)
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "outside.bin").exists()


def test_a_bad_new_version_leaves_the_installed_one_alone(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "v1", files_of(1)))
    project = _project(tmp_path, oci_registry.url(namespace))
    assert kmenv("-C", project, "install").code == 0
    before = _snapshot(project)
    push_by_hand(oci_registry.base, f"{namespace}/acme/tiny/pytorch/base", "2", FILES, paths={"config.json": "a//b"})
    _one_line(kmenv("-C", project, "upgrade"), code=2, says="path 'a//b' is unsafe", hint="push the")
    assert _snapshot(project) == before


def test_a_blob_that_betrays_its_digest_never_enters_the_store_or_the_model(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    push_by_hand(oci_registry.base, f"{namespace}/acme/tiny/pytorch/base", "1", FILES)
    lying = hashlib.sha256(FILES["model.safetensors"]).hexdigest()
    with running_proxy(oci_registry.host, corrupt=[f"/blobs/sha256:{lying}"]) as proxy:
        project = _project(tmp_path, proxy.url(namespace))
        result = kmenv("-C", project, "install")
        assert proxy.hits(lying) >= 1
    assert result.code == 6, result.err
    assert "model.safetensors" in result.err and "sha256" in result.err.lower()
    assert not (project / ".kmenv" / "models").exists()
    assert not Store(isolated_dirs / "cache").blob_path(lying).exists()


def test_a_missing_model_or_version_is_not_found(  # a user error (exit 2), as on every registry
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    project = _project(tmp_path, oci_registry.url(namespace), "acme/absent/pyTorch/base")
    _one_line(kmenv("-C", project, "lock"), code=2, says="listing the versions of acme/absent/pyTorch/base", hint="")
    assert not (project / "kmodels.lock").exists()


@pytest.mark.parametrize(
    ("status", "times", "says", "hint"),
    [
        (403, -1, "access denied (HTTP 403)", "ask the registry's admin for access to"),
        (404, -1, "is listed but has no manifest", "run the command again"),
        (429, -1, "tried 4 times: HTTP 429 (rate limited)", "the registry is limiting requests"),
        (503, -1, "tried 4 times: HTTP 503", "check the network and the registry"),
        (500, -1, "tried 4 times: HTTP 500", "check the network and the registry"),
    ],
)
def test_registry_refusals_are_one_line_with_the_fix(
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    status: int,
    times: int,
    says: str,
    hint: str,
) -> None:
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "v1", files_of(1)))
    with running_proxy(oci_registry.host, statuses={"/manifests/": (status, times)}) as proxy:
        project = _project(tmp_path, proxy.url(namespace))
        before = _snapshot(tmp_path)
        result = kmenv("-C", project, "install")
        _one_line(result, code=5, says=says, hint=hint)
        assert _snapshot(tmp_path) == before
        if status in (429, 503, 500):
            assert proxy.hits("/manifests/1") == 4


def test_a_brief_outage_is_retried_through(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    files = files_of(1)
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "v1", files))
    blob = hashlib.sha256(files["config.json"]).hexdigest()
    faults = {"/tags/list": (503, 2), "/manifests/1": (429, 1), blob: (502, 2)}
    with running_proxy(oci_registry.host, statuses=faults) as proxy:
        project = _project(tmp_path, proxy.url(namespace))
        result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    assert (project / ".kmenv" / "models" / "tiny" / "config.json").read_bytes() == files["config.json"]


def test_a_registry_that_hides_its_catalog_needs_full_handles(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "v1", files_of(1)))
    with running_proxy(oci_registry.host, statuses={"/_catalog": (403, -1)}) as proxy:
        partial = _project(tmp_path / "a", proxy.url(namespace), "acme/tiny")
        _one_line(
            kmenv("-C", partial, "lock"),
            code=5,
            says="does not list its repositories",
            hint="name the full instance in kmodels.yaml",
        )
        full = _project(tmp_path / "b", proxy.url(namespace))
        assert kmenv("-C", full, "lock").code == 0
