"""Hostile or broken registries: each gets one located line with the fix, and nothing changes on disk.

The registry is the real docker-registry; what Distribution cannot be made to do (lie about a blob,
answer 401/403/429/5xx) comes from the proxy in ``oci_proxy.py`` in front of it. "Nothing changes"
is checked on every byte a run could touch: the project (kmodels.yaml, kmodels.lock, .kmenv) and
kmenv's own folders (the store, the data folder with the ledger, the config folder).
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
_BOOKKEEPING = (".kmenv/.lock", ".kmenv/.gitignore")


def _snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file under ``folders`` and its bytes, but for the installer's empty bookkeeping files."""
    found = {str(p): p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}
    return {k: v for k, v in found.items() if not k.endswith(_BOOKKEEPING)}


def _unchanged(before: dict[str, bytes], *folders: Path) -> None:
    """Nothing that was there changed or went, and nothing new came but what the store may keep after a failed
    download: a blob proven by its name (another file of the same lock, fetched in parallel, which the next
    install reuses), its seal, the empty lock file each download takes, and the record that the project's
    kmodels.lock parsed (named by its sha256; what lets a later install skip parsing it again)."""
    after = _snapshot(*folders)
    assert {k: v for k, v in after.items() if k in before} == before
    new = {k: v for k, v in after.items() if k not in before}
    proven = {Path(k).name for k, v in new.items() if "/cache/blobs/" in k and hashlib.sha256(v).hexdigest() in k}
    locks = {hashlib.sha256(v).hexdigest() for k, v in before.items() if k.endswith("/kmodels.lock")}
    for path, data in new.items():
        kept = Path(path).name in proven and ("/cache/blobs/" in path or "/cache/verified/" in path)
        kept = kept or ("/cache/verified/locks/" in path and Path(path).name.split("+")[0] in locks)
        assert kept or ("/cache/locks/" in path and data == b""), path


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
    isolated_dirs: Path,
    options: dict[str, object],
    says: str,
    hint: str,
) -> None:
    push_by_hand(oci_registry.base, f"{namespace}/acme/tiny/pytorch/base", "1", FILES, **options)  # type: ignore[arg-type]
    project = _project(tmp_path, oci_registry.url(namespace))
    before = _snapshot(tmp_path, isolated_dirs)
    _one_line(kmenv("-C", project, "install"), code=2, says=says, hint=hint)
    assert _snapshot(tmp_path, isolated_dirs) == before
    assert not (tmp_path / "outside.bin").exists()


def test_a_bad_new_version_leaves_the_installed_one_alone(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "v1", files_of(1)))
    project = _project(tmp_path, oci_registry.url(namespace))
    assert kmenv("-C", project, "install").code == 0
    before = _snapshot(project, isolated_dirs)
    push_by_hand(oci_registry.base, f"{namespace}/acme/tiny/pytorch/base", "2", FILES, paths={"config.json": "a//b"})
    _one_line(kmenv("-C", project, "upgrade"), code=2, says="path 'a//b' is unsafe", hint="push the")
    assert _snapshot(project, isolated_dirs) == before


def test_a_blob_that_betrays_its_digest_never_enters_the_store_or_the_model(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    push_by_hand(oci_registry.base, f"{namespace}/acme/tiny/pytorch/base", "1", FILES)
    lying = hashlib.sha256(FILES["model.safetensors"]).hexdigest()
    with running_proxy(oci_registry.host) as proxy:
        project = _project(tmp_path, proxy.url(namespace))
        assert kmenv("-C", project, "lock").code == 0  # the lock is right: only the bytes served later lie
        proxy.corrupt.append(f"/blobs/sha256:{lying}")
        before = _snapshot(tmp_path, isolated_dirs)
        result = kmenv("-C", project, "install", "--locked")
        assert proxy.hits(lying) >= 1
    assert result.code == 6, result.err
    assert "model.safetensors" in result.err and "sha256" in result.err.lower()
    assert not (project / ".kmenv" / "models").exists()
    assert not Store(isolated_dirs / "cache").blob_path(lying).exists()
    _unchanged(before, tmp_path, isolated_dirs)


def test_a_missing_model_or_version_is_not_found(  # a user error (exit 2), as on every registry
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    project = _project(tmp_path, oci_registry.url(namespace), "acme/absent/pyTorch/base")
    before = _snapshot(tmp_path, isolated_dirs)
    _one_line(kmenv("-C", project, "lock"), code=2, says="listing the versions of acme/absent/pyTorch/base", hint="")
    assert not (project / "kmodels.lock").exists()
    assert _snapshot(tmp_path, isolated_dirs) == before


@pytest.mark.parametrize(
    ("status", "times", "says", "hint"),
    [
        (401, -1, "needs a login (HTTP 401)", "log in with `docker login 127.0.0.1:"),
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
    isolated_dirs: Path,
    status: int,
    times: int,
    says: str,
    hint: str,
) -> None:
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "v1", files_of(1)))
    with running_proxy(oci_registry.host, statuses={"/manifests/": (status, times)}) as proxy:
        project = _project(tmp_path, proxy.url(namespace))
        before = _snapshot(tmp_path, isolated_dirs)
        result = kmenv("-C", project, "install")
        _one_line(result, code=5, says=says, hint=hint)
        assert _snapshot(tmp_path, isolated_dirs) == before
        if status in (429, 503, 500):
            assert proxy.hits("/manifests/1") == 4


@pytest.mark.parametrize(
    ("status", "code", "says", "hint"),
    [
        (401, 5, "answered HTTP 401 (access denied)", "`docker login HOST`"),
        (403, 5, "answered HTTP 403 (access denied)", "`docker login HOST`"),
        (404, 5, "answered HTTP 404 (not found)", "check the model version still exists"),
        (429, 5, "HTTP 429 (4 attempts)", "unfinished ones resume"),
        (502, 5, "HTTP 502 (4 attempts)", "unfinished ones resume"),
    ],
)
def test_a_refused_layer_download_changes_nothing(  # the lock is right; the blob endpoint refuses
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    isolated_dirs: Path,
    status: int,
    code: int,
    says: str,
    hint: str,
) -> None:
    files = files_of(1)
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "v1", files))
    weights = hashlib.sha256(files["weights/model.safetensors"]).hexdigest()
    with running_proxy(oci_registry.host) as proxy:
        project = _project(tmp_path, proxy.url(namespace))
        assert kmenv("-C", project, "lock").code == 0
        proxy.statuses[f"/blobs/sha256:{weights}"] = (status, -1)
        before = _snapshot(tmp_path, isolated_dirs)
        result = kmenv("-C", project, "install", "--locked")
        assert proxy.hits(weights) >= 1
    _one_line(result, code=code, says=says, hint=hint)
    _unchanged(before, tmp_path, isolated_dirs)
    assert not (project / ".kmenv" / "models").exists()


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
