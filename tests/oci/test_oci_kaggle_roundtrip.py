"""A Kaggle lock mirrored to a real docker-registry and to a folder: each mirror alone reproduces the install.

The source project locks against the Kaggle emulator: a model with files in sub-folders, a fine-tune
whose base model comes along, and a version of 30 files that Kaggle serves as one archive. After
``kmenv mirror --to oci+http://…`` and ``--to DIR`` Kaggle is shut down and the cache emptied; a project
whose only registry is one mirror locks to the same versions and sha256s and installs the same bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from mirror_checks import kaggle_project, locked_summary
from test_mirror import installed_files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kaggle"))  # where `kaggle_fixtures` lives

if TYPE_CHECKING:
    from conftest import Runner
    from kaggle_emulator import KaggleEmulator

    from oci.conftest import RunningRegistry

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

_MORE = "  shards: acme/shards/pyTorch/many\n"  # Kaggle serves its 30 files as one archive


@pytest.fixture
def kaggle_source(emulator: KaggleEmulator, tmp_path: Path, kmenv: Runner) -> Path:
    """The project installed from the Kaggle emulator."""
    source = kaggle_project(tmp_path / "source", "    type: kaggle", more=_MORE)
    result = kmenv("-C", source, "install")
    assert result.code == 0, result.err
    lock = json.loads((source / "kmodels.lock").read_text())["models"]
    assert set(lock) == {"bert", "chat", "shards", "base-llm-small"}  # the fine-tune brought its base along
    assert lock["chat"]["base"] == "base-llm-small" and len(lock["shards"]["files"]) == 30
    assert any("/" in f["path"] for f in lock["bert"]["files"])
    whole = [s for s in emulator.requests_to("DownloadModelInstanceVersion") if s.body and not s.body.get("path")]
    assert whole, "the 30-file version should have come as Kaggle's whole-version archive"
    return source


def test_a_kaggle_lock_mirrored_to_a_registry_and_a_folder_installs_the_same_bytes_without_kaggle(
    emulator: KaggleEmulator,
    kaggle_source: Path,
    oci_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, folder = oci_registry.url(namespace), tmp_path / "mirror"
    for target in (url, str(folder)):
        result = kmenv("-C", kaggle_source, "mirror", "--to", target, "--json")
        assert result.code == 0, result.err
        done = json.loads(result.out)
        assert done["fetched_files"] == 0 and done["blobs_written"] == done["files"] > 30  # all from the store
        assert {v["handle"] for v in done["versions"]} >= {"acme/base-llm/pyTorch/small", "acme/shards/pyTorch/many"}

    emulator.stop()  # Kaggle is gone (KMENV_KAGGLE_URL now names a closed port), and so is every cached byte
    for name, target in (("via-oci", url), ("via-folder", str(folder))):
        monkeypatch.setenv("KMENV_CACHE_DIR", str(tmp_path / f"cache-{name}"))
        other = kaggle_project(tmp_path / name, f"    url: {target}", more=_MORE)
        installed = kmenv("-C", other, "install")
        assert installed.code == 0, f"{name}: {installed.err}"
        assert locked_summary(other) == locked_summary(kaggle_source), name
        assert installed_files(other) == installed_files(kaggle_source), name
        assert kmenv("-C", other, "validate").code == 0, name
        assert kmenv("-C", other, "outdated", "--exit-code").code == 0, name  # the mirror has nothing newer
