"""``kmenv mirror --to DIR``: a project pointed at the mirror locks and installs the same bytes, without the source."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from conftest import Runner
from ruamel.yaml import YAML


def installed_files(env: Path) -> dict[str, str]:
    models = env / ".kmenv" / "models"
    return {
        p.relative_to(models).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(models.rglob("*"))
        if p.is_file()
    }


def pointed_at(example: Path, mirror: Path | str, where: Path) -> Path:
    """A copy of the quickstart project whose only registry is ``mirror``."""
    shutil.copytree(example, where, ignore=shutil.ignore_patterns(".kmenv", "kmodels.lock"))
    yaml = YAML()
    spec = yaml.load((where / "kmodels.yaml").read_text())
    spec["registries"]["example"]["url"] = str(mirror)
    with (where / "kmodels.yaml").open("w") as out:
        yaml.dump(spec, out)
    return where


def test_a_mirrored_lock_installs_byte_identical_without_the_source(
    example: Path, tmp_path: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", example, "install").code == 0
    mirror = tmp_path / "mirror"
    result = kmenv("-C", example, "mirror", "--to", mirror)
    assert result.code == 0, result.err
    assert result.out.startswith("Mirrored ") and f"to {mirror}" in result.out

    other = pointed_at(example, mirror, tmp_path / "other")
    shutil.rmtree(example.parent / "registry")  # the source is gone: only the mirror can serve the models
    assert kmenv("-C", other, "install").code == 0
    original = json.loads((example / "kmodels.lock").read_text())["models"]
    mirrored = json.loads((other / "kmodels.lock").read_text())["models"]
    assert {n: (m["version"], m["files"]) for n, m in mirrored.items()} == {
        n: (m["version"], m["files"]) for n, m in original.items()
    }
    assert {n: (m["requires"], m["license"], m["base"]) for n, m in mirrored.items()} == {
        n: (m["requires"], m["license"], m["base"]) for n, m in original.items()
    }
    assert installed_files(other) == installed_files(example)


def test_a_second_mirror_run_writes_nothing(example: Path, tmp_path: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    mirror = tmp_path / "mirror"
    first = json.loads(kmenv("-C", example, "mirror", "--to", mirror, "--json").out)
    assert first["blobs_written"] == first["files"] > 0 and first["blobs_present"] == 0
    index = (mirror / "index.json").read_bytes()
    second = json.loads(kmenv("-C", example, "mirror", "--to", mirror, "--json").out)
    assert second["blobs_written"] == 0 and second["bytes_written"] == 0
    assert second["blobs_present"] == second["files"] == first["files"]
    assert (mirror / "index.json").read_bytes() == index


def test_a_dry_run_says_what_it_would_copy_and_writes_nothing(example: Path, tmp_path: Path, kmenv: Runner) -> None:
    mirror = tmp_path / "mirror"
    assert kmenv("-C", example, "lock").code == 0
    result = kmenv("-C", example, "mirror", "--to", mirror, "--dry-run", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["dry_run"] is True and plan["blobs_written"] == 0
    assert plan["bytes_to_fetch"] == plan["bytes_to_write"] == plan["total_bytes"] > 0  # nothing installed yet
    assert not mirror.exists()
    text = kmenv("-C", example, "mirror", "--to", mirror, "--dry-run").out
    assert text.startswith("Would mirror ") and "download " in text


def test_all_versions_mirrors_every_version_of_each_locked_instance(
    example: Path, tmp_path: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", example, "lock").code == 0
    mirror = tmp_path / "mirror"
    locked = json.loads(kmenv("-C", example, "mirror", "--to", mirror, "--json").out)["versions"]
    every = json.loads(kmenv("-C", example, "mirror", "--to", mirror, "--all-versions", "--json").out)["versions"]
    assert set(map(str, locked)) < set(map(str, every))
    index = json.loads((mirror / "index.json").read_text())
    assert {e["handle"] for e in index["instances"]} == {v["handle"] for v in every}
    latest = {e["handle"]: e["latest"] for e in index["instances"]}
    assert latest == {h: max(v["version"] for v in every if v["handle"] == h) for h in latest}


def test_a_version_that_changed_upstream_is_refused_not_overwritten(
    example: Path, tmp_path: Path, kmenv: Runner
) -> None:
    assert kmenv("-C", example, "lock").code == 0
    mirror = tmp_path / "mirror"
    assert kmenv("-C", example, "mirror", "--to", mirror).code == 0
    document = next((mirror / "models").rglob("*.json"))
    data = json.loads(document.read_text())
    data["versions"][0]["files"][0]["sha256"] = "0" * 64
    document.write_text(json.dumps(data))
    before = document.read_bytes()
    result = kmenv("-C", example, "mirror", "--to", mirror)
    assert result.code != 0 and "with other files" in result.err
    assert "Traceback" not in result.err
    assert document.read_bytes() == before


def test_a_remote_target_is_a_usage_error(example: Path, kmenv: Runner) -> None:
    result = kmenv("-C", example, "mirror", "--to", "s3://bucket/models")
    assert result.code == 2 and "supports a folder" in result.err
