"""A project whose registry is a real docker-registry: lock, install, outdated, upgrade, check and validate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from oci.oci_helpers import files_of, push_with_kmenv, write_model
from oci.oci_proxy import running_proxy

if TYPE_CHECKING:
    from conftest import Runner

    from oci.conftest import RunningRegistry

SPEC = """\
version: 1
registries:
  team:
    url: {url}
policy:
  licenses:
    allow: [Apache-2.0]
models:
  tiny: acme/tiny            # partial: the registry's catalog names the instance
  chat: acme/chat/pyTorch/lora
"""


def _project(tmp_path: Path, url: str) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "kmodels.yaml").write_text(SPEC.format(url=url))
    return project


def _publish(
    registry: RunningRegistry, namespace: str, tmp_path: Path, handle: str, version: int, **kw: object
) -> dict[str, bytes]:
    files = files_of(version, handle)
    folder = write_model(tmp_path / "src" / handle.replace("/", "_") / str(version), files)
    push_with_kmenv(registry.url(namespace), handle, version, folder, **kw)  # type: ignore[arg-type]
    return files


def test_lock_install_outdated_upgrade_check_validate(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    tiny1 = _publish(oci_registry, namespace, tmp_path, "acme/tiny/pyTorch/base", 1, requires={"torch": ">=2"})
    _publish(oci_registry, namespace, tmp_path, "acme/base-llm/pyTorch/small", 1)
    chat = _publish(
        oci_registry, namespace, tmp_path, "acme/chat/pyTorch/lora", 1, base=("acme/base-llm/pyTorch/small", ">=1")
    )
    project = _project(tmp_path, oci_registry.url(namespace))

    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    lock = json.loads((project / "kmodels.lock").read_text())
    models = lock["models"]
    assert {n: (m["registry"], m["handle"], m["version"]) for n, m in models.items()} == {
        "tiny": ("team", "acme/tiny/pyTorch/base", 1),
        "chat": ("team", "acme/chat/pyTorch/lora", 1),
        "base-llm-small": ("team", "acme/base-llm/pyTorch/small", 1),
    }
    assert models["tiny"]["license"] == {"published": "Apache 2.0", "spdx": "Apache-2.0"}
    assert models["tiny"]["requires"] == {"torch": ">=2"}
    assert models["chat"]["base"] == "base-llm-small"
    for path, data in tiny1.items():
        assert (project / ".kmenv" / "models" / "tiny" / path).read_bytes() == data
    for path, data in chat.items():
        assert (project / ".kmenv" / "models" / "chat" / path).read_bytes() == data

    tiny2 = _publish(oci_registry, namespace, tmp_path, "acme/tiny/pyTorch/base", 2)
    outdated = kmenv("-C", project, "outdated", "--exit-code")
    assert outdated.code == 9, outdated.err  # outdated --exit-code: a model can move
    assert "tiny" in outdated.out and "2" in outdated.out

    upgraded = kmenv("-C", project, "upgrade")
    assert upgraded.code == 0, upgraded.err
    assert json.loads((project / "kmodels.lock").read_text())["models"]["tiny"]["version"] == 2
    for path, data in tiny2.items():
        assert (project / ".kmenv" / "models" / "tiny" / path).read_bytes() == data
    assert kmenv("-C", project, "outdated", "--exit-code").code == 0

    assert kmenv("-C", project, "check").code == 0
    spec = (project / "kmodels.yaml").read_text()
    (project / "kmodels.yaml").write_text(spec.replace("allow: [Apache-2.0]", "allow: [MIT]"))
    refused = kmenv("-C", project, "check", "--no-git")  # the registry's Apache 2.0 models break the new policy
    assert refused.code == 4 and "tiny" in refused.out + refused.err, refused.out + refused.err
    (project / "kmodels.yaml").write_text(spec)
    assert kmenv("-C", project, "validate").code == 0
    shutil.rmtree(project / ".kmenv")
    offline = kmenv("-C", project, "--offline", "install")  # every file is in the store: no registry needed
    assert offline.code == 0, offline.err
    assert (project / ".kmenv" / "models" / "tiny" / "config.json").read_bytes() == tiny2["config.json"]
    refused = kmenv("-C", project, "--offline", "outdated")
    assert refused.code == 5 and "offline: registry 'team' is at oci+http://" in refused.err
    (project / ".kmenv" / "models" / "tiny" / "config.json").write_bytes(b"tampered")
    damaged = kmenv("-C", project, "validate")
    assert damaged.code == 6 and "config.json" in damaged.out + damaged.err


def test_a_second_machine_installs_the_lock_from_the_registry_alone(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, monkeypatch: object
) -> None:
    files = _publish(oci_registry, namespace, tmp_path, "acme/tiny/pyTorch/base", 1)
    _publish(oci_registry, namespace, tmp_path, "acme/base-llm/pyTorch/small", 1)
    _publish(oci_registry, namespace, tmp_path, "acme/chat/pyTorch/lora", 1)
    project = _project(tmp_path, oci_registry.url(namespace))
    assert kmenv("-C", project, "lock").code == 0
    lock = (project / "kmodels.lock").read_text()
    assert "Authorization" not in lock and "/blobs/" not in lock

    other = tmp_path / "other"
    other.mkdir()
    for name in ("kmodels.yaml", "kmodels.lock"):
        (other / name).write_text((project / name).read_text())
    result = kmenv("-C", other, "install", "--locked")
    assert result.code == 0, result.err
    for path, data in files.items():
        assert (other / ".kmenv" / "models" / "tiny" / path).read_bytes() == data
    assert (other / "kmodels.lock").read_text() == lock


def test_installing_a_lock_reads_only_the_locked_versions_manifests(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    """A thousand runners installing one lock must not each list every tag and read every version's manifest."""
    for version in (1, 2, 3):
        _publish(oci_registry, namespace, tmp_path, "acme/tiny/pyTorch/base", version)
    _publish(oci_registry, namespace, tmp_path, "acme/base-llm/pyTorch/small", 1)
    _publish(oci_registry, namespace, tmp_path, "acme/chat/pyTorch/lora", 1)
    with running_proxy(oci_registry.host) as proxy:
        project = _project(tmp_path, proxy.url(namespace))
        assert kmenv("-C", project, "lock").code == 0
        other = tmp_path / "runner"
        other.mkdir()
        for name in ("kmodels.yaml", "kmodels.lock"):
            (other / name).write_text((project / name).read_text())
        proxy.seen.clear()
        result = kmenv("-C", other, "install", "--frozen")
        assert result.code == 0, result.err
        reads = [path for method, path, _ in proxy.seen if method == "GET" and "/manifests/" in path]
    assert proxy.hits("/tags/list") == 0
    tags = sorted(path.split("/manifests/")[0].rsplit("/", 3)[-3] + ":" + path.rsplit("/", 1)[-1] for path in reads)
    assert tags == ["chat:1", "tiny:3"], reads  # one manifest per locked version, no other


def test_the_licence_an_artifact_publishes_meets_the_policy(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    _publish(oci_registry, namespace, tmp_path, "acme/tiny/pyTorch/base", 1, license="CC BY-NC 4.0")
    _publish(oci_registry, namespace, tmp_path, "acme/chat/pyTorch/lora", 1)
    project = _project(tmp_path, oci_registry.url(namespace))
    result = kmenv("-C", project, "lock")
    assert result.code == 3, result.err
    assert "version 1 denied: licence CC-BY-NC-4.0 not allowed by policy.licenses.allow" in result.err
    assert not (project / "kmodels.lock").exists()
