"""Projects mixing Kaggle and a static registry lock and install against the emulator; secrets never leak."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import ALICE_KEY, bert_files
from kaggle_emulator import KaggleEmulator

from kmenv.values.handles import Handle

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
version: 1
registries:
  kaggle:
    type: kaggle
  example:
    url: ../registry
policy:
  licenses:
    allow: [Apache-2.0, MIT]
models:
  bert: keras/bert/keras/bert_tiny_en_uncased
  chat: acme/chat-llm/pyTorch/small-chat@<2
  iris:
    handle: kmenv-examples/iris/scikitLearn/logistic-regression
    registry: example
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples" / "registry", tmp_path / "registry")
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "kmodels.yaml").write_text(SPEC)
    return folder


def test_mixed_project_locks_and_installs(emulator: KaggleEmulator, project: Path, kmenv: Runner) -> None:
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    lock = json.loads((project / "kmodels.lock").read_text())
    models = lock["models"]
    assert {n: (m["registry"], m["version"]) for n, m in models.items()} == {
        "base-llm-small": ("kaggle", 3),
        "bert": ("kaggle", 2),
        "chat": ("kaggle", 1),
        "iris": ("example", 2),
    }
    assert models["chat"]["base"] == "base-llm-small" and models["bert"]["requires"] == {"keras": ">=3"}
    assert models["bert"]["license"] == {"published": "Apache 2.0", "spdx": "Apache-2.0"}
    assert all("md5" in f["digests"] for f in models["bert"]["files"])
    installed = project / ".kmenv" / "models" / "bert"
    for path, data in bert_files(2).items():
        assert (installed / path).read_bytes() == data
    text = (project / "kmodels.lock").read_text()
    assert "X-Goog" not in text and "/blobs/" not in text  # signed URLs never enter the lock


def test_lock_prefetches_declared_models_concurrently(
    emulator: KaggleEmulator,
    project: Path,
    kmenv: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from kmenv.registry.kaggle import KaggleRegistry

    asked: list[list[str]] = []
    threads: set[str] = set()
    original_prefetch, original_info = KaggleRegistry.prefetch, KaggleRegistry.instance_info

    def prefetch(self: KaggleRegistry, handles: list[str]) -> None:
        asked.append(sorted(str(h) for h in handles))
        original_prefetch(self, handles)

    def instance_info(self: KaggleRegistry, handle: Handle) -> object:
        threads.add(threading.current_thread().name)
        return original_info(self, handle)

    monkeypatch.setattr(KaggleRegistry, "prefetch", prefetch)
    monkeypatch.setattr(KaggleRegistry, "instance_info", instance_info)
    assert kmenv("-C", project, "lock").code == 0
    assert asked == [["acme/chat-llm/pyTorch/small-chat", "keras/bert/keras/bert_tiny_en_uncased"]]
    assert any(name.startswith("kmenv-meta") for name in threads)


def test_lock_works_offline_after_one_online_run(emulator: KaggleEmulator, project: Path, kmenv: Runner) -> None:
    assert kmenv("-C", project, "lock").code == 0
    first = (project / "kmodels.lock").read_text()
    (project / "kmodels.lock").unlink()
    seen = len(emulator.seen)
    result = kmenv("-C", project, "--offline", "lock")
    assert result.code == 0, result.err
    assert (project / "kmodels.lock").read_text() == first
    assert len(emulator.seen) == seen


def test_offline_lock_without_cache_names_what_is_missing(
    emulator: KaggleEmulator, project: Path, kmenv: Runner
) -> None:
    result = kmenv("-C", project, "--offline", "lock")
    assert result.code == 5
    assert "offline: the metadata cache has no Kaggle answer for" in result.err
    assert not (project / "kmodels.lock").exists()


def test_gated_model_fails_with_exit_5_and_the_page_to_accept(
    emulator: KaggleEmulator, project: Path, kmenv: Runner
) -> None:
    spec = SPEC.replace("allow: [Apache-2.0, MIT]", "allow: [Apache-2.0, MIT, LicenseRef-kmenv-Gemma]")
    (project / "kmodels.yaml").write_text(spec + "  gemma: google/gemma/pyTorch/2b\n")
    result = kmenv("-C", project, "install")
    assert result.code == 5
    assert "licence must be accepted" in result.err
    assert "https://www.kaggle.com/models/google/gemma/pyTorch/2b" in result.err
    assert not (project / "kmodels.lock").exists() and not (project / ".kmenv" / "models").exists()


def test_credentials_never_appear_in_output_lock_cache_or_ledger(
    emulator: KaggleEmulator,
    project: Path,
    kmenv: Runner,
    monkeypatch: pytest.MonkeyPatch,
    isolated_dirs: Path,
) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", ALICE_KEY)
    outputs = [
        kmenv("-C", project, "install"),
        kmenv("-C", project, "lock", "--json"),
        kmenv("show", "keras/bert", "--json"),
        kmenv("download", "acme/chat-llm/pyTorch/small-chat", "--path", project / "dl"),
    ]
    assert all(r.code == 0 for r in outputs), [r.err for r in outputs]
    for r in outputs:
        assert ALICE_KEY not in r.out + r.err
    assert emulator.requests_to("GetModelInstance")[0].headers["Authorization"].startswith("Basic ")
    for root in (project, isolated_dirs):
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert ALICE_KEY.encode() not in path.read_bytes(), path
    assert all("Authorization" not in s.headers for s in emulator.requests_to("blob"))


def test_wrong_key_fails_with_how_to_set_credentials(
    emulator: KaggleEmulator,
    project: Path,
    kmenv: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", "not-the-key-42")
    result = kmenv("-C", project, "lock")
    assert result.code == 5
    assert "HTTP 401" in result.err and "KAGGLE_API_TOKEN" in result.err
    assert "not-the-key-42" not in result.err + result.out


def test_registry_url_in_kmodels_yaml_overrides_the_environment(
    emulator: KaggleEmulator, tmp_path: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMENV_KAGGLE_URL", "http://127.0.0.1:9/api/v1")  # nothing listens there
    (tmp_path / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  kaggle:\n    type: kaggle\n    url: {emulator.url}\n"
        "models:\n  bert: keras/bert\n"  # a partial handle: the resolver picks the instance
    )
    result = kmenv("-C", tmp_path, "lock", "--json")
    assert result.code == 0, result.err
    lock = json.loads((tmp_path / "kmodels.lock").read_text())
    assert lock["models"]["bert"]["handle"] == "keras/bert/keras/bert_tiny_en_uncased"
    assert emulator.requests_to("ListModelInstances")
