"""`kmenv registry build` from the command line, and a project installing from what it built."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Runner


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_build_then_install_from_the_new_registry(tmp_path: Path, kmenv: Runner) -> None:
    source = tmp_path / "src" / "acme" / "tiny" / "onnx" / "fp32"
    for version, licence in ((1, "MIT"), (2, "Apache 2.0")):
        folder = source / str(version)
        write_json(folder / "version.json", {"license": licence, "published": f"2026-0{version}-01T00:00:00Z"})
        (folder / "model.onnx").write_bytes(bytes([version]) * 64)
        (folder / "config.json").write_text(json.dumps({"version": version}))

    built = kmenv("registry", "build", tmp_path / "src", tmp_path / "registry", "--name", "acme", "--json")
    assert built.code == 0, built.err
    report = json.loads(built.out)
    assert report["instances"] == 1 and report["versions"] == 2 and report["files"] == 4

    project = tmp_path / "project"
    project.mkdir()
    (project / "kmodels.yaml").write_text(
        "version: 1\nregistries:\n  acme:\n    url: ../registry\nmodels:\n  tiny: acme/tiny/onnx/fp32\n"
    )
    installed = kmenv("-C", project, "install")
    assert installed.code == 0, installed.err
    assert (project / ".kmenv" / "models" / "tiny" / "model.onnx").read_bytes() == bytes([2]) * 64


def test_a_bad_source_is_a_usage_error(tmp_path: Path, kmenv: Runner) -> None:
    (tmp_path / "src" / "acme" / "tiny" / "onnx" / "fp32" / "one").mkdir(parents=True)
    result = kmenv("registry", "build", tmp_path / "src", tmp_path / "out")
    assert result.code == 2
    assert "one" in result.err and "Traceback" not in result.err
