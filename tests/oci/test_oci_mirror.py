"""``kmenv mirror --to oci+http://…``: a lock copied into a real docker-registry installs from it alone."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_mirror import installed_files, pointed_at

from oci.oci_helpers import files_of, push_with_kmenv, write_model

if TYPE_CHECKING:
    from conftest import Runner

    from oci.conftest import RunningRegistry


def _repositories(registry: RunningRegistry, namespace: str) -> list[str]:
    with urllib.request.urlopen(f"{registry.base}/v2/_catalog?n=1000", timeout=10) as answer:
        names: list[str] = json.load(answer)["repositories"] or []
    return sorted(n for n in names if n.startswith(namespace + "/"))


def _tags(registry: RunningRegistry, repositories: list[str]) -> dict[str, str]:
    """Each repository:tag with the digest of the manifest it names."""
    found = {}
    for repository in repositories:
        try:
            with urllib.request.urlopen(f"{registry.base}/v2/{repository}/tags/list", timeout=10) as answer:
                tags = json.load(answer)["tags"] or []
        except urllib.error.HTTPError as exc:  # blobs but no manifest yet: Distribution knows no tags
            assert exc.code == 404
            continue
        for tag in tags:
            request = urllib.request.Request(
                f"{registry.base}/v2/{repository}/manifests/{tag}",
                method="HEAD",
                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                found[f"{repository}:{tag}"] = answer.headers["Docker-Content-Digest"]
    return found


def _locked(project: Path) -> dict[str, tuple[object, ...]]:
    models = json.loads((project / "kmodels.lock").read_text())["models"]
    return {
        n: (m["handle"], m["version"], m["files"], m["requires"], m["license"], m["base"]) for n, m in models.items()
    }


def test_a_lock_mirrored_to_a_registry_installs_byte_identical_from_it_alone(
    example: Path,
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert kmenv("-C", example, "install").code == 0
    url = oci_registry.url(namespace)
    first = kmenv("-C", example, "mirror", "--to", url, "--json")
    assert first.code == 0, first.err
    done = json.loads(first.out)
    assert done["target"] == url and done["fetched_files"] == 0  # every blob came from the store
    assert done["blobs_written"] == done["files"] > 0 and done["bytes_written"] == done["total_bytes"] > 0
    repositories = _repositories(oci_registry, namespace)
    assert repositories == sorted(f"{namespace}/{v['handle']}".lower() for v in done["versions"])
    tags = _tags(oci_registry, repositories)
    assert len(tags) == len(done["versions"])

    again = kmenv("-C", example, "mirror", "--to", url)
    assert again.code == 0, again.err
    assert f"0 written (0 B copied), {done['files']} already there" in again.out
    assert _tags(oci_registry, repositories) == tags  # no manifest was replaced

    other = pointed_at(example, url, tmp_path / "other")
    shutil.rmtree(example.parent / "registry")  # the source is gone: only the mirror can serve the models
    monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / "fresh-cache"))  # and no byte is in the cache
    installed = kmenv("-C", other, "install")
    assert installed.code == 0, installed.err
    assert _locked(other) == _locked(example)
    assert installed_files(other) == installed_files(example)
    assert kmenv("-C", other, "validate").code == 0


def test_a_dry_run_names_the_bytes_and_pushes_nothing(
    example: Path, oci_registry: RunningRegistry, namespace: str, kmenv: Runner
) -> None:
    assert kmenv("-C", example, "lock").code == 0
    url = oci_registry.url(namespace)
    result = kmenv("-C", example, "mirror", "--to", url, "--dry-run", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["dry_run"] is True and plan["blobs_written"] == plan["bytes_written"] == 0
    assert plan["bytes_to_fetch"] == plan["bytes_to_write"] == plan["total_bytes"] > 0
    text = kmenv("-C", example, "mirror", "--to", url, "--dry-run")
    assert text.out.startswith("Would mirror ") and f"to {url}:" in text.out
    assert _repositories(oci_registry, namespace) == []
    assert not any((Path(example) / ".kmenv").glob("models/*"))  # nothing was downloaded either


def test_all_versions_pushes_every_version_as_a_tag(
    example: Path, oci_registry: RunningRegistry, namespace: str, kmenv: Runner
) -> None:
    assert kmenv("-C", example, "lock").code == 0
    url = oci_registry.url(namespace)
    every = json.loads(kmenv("-C", example, "mirror", "--to", url, "--all-versions", "--json").out)
    tags = _tags(oci_registry, _repositories(oci_registry, namespace))
    assert sorted(tags) == sorted(f"{namespace}/{v['handle']}:{v['version']}".lower() for v in every["versions"])


def test_a_tag_that_holds_other_files_is_refused_not_overwritten(
    example: Path, oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", example, "lock").code == 0
    url = oci_registry.url(namespace)
    lock = json.loads((example / "kmodels.lock").read_text())
    model = next(iter(lock["models"].values()))
    folder = write_model(tmp_path / "other-bytes", files_of(model["version"], "changed upstream"))
    push_with_kmenv(url, model["handle"], model["version"], folder)
    before = _tags(oci_registry, _repositories(oci_registry, namespace))
    assert list(before) == [f"{namespace}/{model['handle']}:{model['version']}".lower()]
    result = kmenv("-C", example, "mirror", "--to", url)
    assert result.code == 6 and "with other files" in result.err and "Traceback" not in result.err
    after = _tags(oci_registry, _repositories(oci_registry, namespace))
    assert {tag: after[tag] for tag in before} == before


def test_a_mirror_needs_the_network(example: Path, oci_registry: RunningRegistry, kmenv: Runner) -> None:
    result = kmenv("-C", example, "--offline", "mirror", "--to", oci_registry.url("offline"))
    assert result.code == 5 and "offline: the mirror" in result.err
