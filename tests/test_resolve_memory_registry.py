"""The in-memory registry used by resolver tests and the lock benchmark: a faithful Registry that counts calls."""

from __future__ import annotations

import pytest

from kmenv.errors import ModelNotFoundError
from kmenv.fetch.source import FileSource
from kmenv.registry.base import Registry
from kmenv.registry.memory import MemoryRegistry
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle

WEIGHTS = FileEntry("weights.bin", 3, "b" * 64)
CONFIG = FileEntry("config.json", 2, "a" * 64)


def _version(handle: str, *files: FileEntry) -> Candidate:
    return Candidate(Handle.parse(handle), "mem", "MIT", files=files)


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry(
        "mem",
        [
            _version("acme/chat/pyTorch/small/1", WEIGHTS),
            _version("acme/chat/pyTorch/small/3", WEIGHTS, CONFIG),
            _version("acme/chat/pyTorch/small/2"),
            _version("acme/chat/jax/small/1"),
        ],
    )


def test_it_is_a_registry(registry: MemoryRegistry) -> None:
    assert isinstance(registry, Registry)


def test_instances_are_sorted_and_versions_newest_first(registry: MemoryRegistry) -> None:
    assert [str(h) for h in registry.instances("acme", "chat")] == ["acme/chat/jax/small", "acme/chat/pyTorch/small"]
    assert [c.version for c in registry.versions(Handle.parse("acme/chat/pyTorch/small"))] == [3, 2, 1]


def test_files_are_sorted_by_path_and_sources_are_memory_urls(registry: MemoryRegistry) -> None:
    newest = registry.versions(Handle.parse("acme/chat/pyTorch/small"))[0]
    assert [f.path for f in registry.files(newest)] == ["config.json", "weights.bin"]
    assert registry.source(newest, WEIGHTS) == FileSource("memory://mem/acme/chat/pyTorch/small/3/weights.bin")


def test_calls_are_counted_per_method_and_argument(registry: MemoryRegistry) -> None:
    registry.instances("acme", "chat")
    registry.versions(Handle.parse("acme/chat/jax/small"))
    registry.versions(Handle.parse("acme/chat/jax/small"))
    assert registry.calls == {("instances", "acme/chat"): 1, ("versions", "acme/chat/jax/small"): 2}
    assert registry.fetched() == {"acme/chat/jax/small"}


def test_unknown_models_and_versions_are_not_found(registry: MemoryRegistry) -> None:
    with pytest.raises(ModelNotFoundError, match="no model acme/none"):
        registry.instances("acme", "none")
    with pytest.raises(ModelNotFoundError, match="no model instance acme/chat/onnx/small"):
        registry.versions(Handle.parse("acme/chat/onnx/small"))
    with pytest.raises(ModelNotFoundError, match="no version acme/chat/pyTorch/small/9"):
        registry.files(_version("acme/chat/pyTorch/small/9"))


def test_bad_contents_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match="belongs to registry 'other'"):
        MemoryRegistry("mem", [Candidate(Handle.parse("acme/a/onnx/v1/1"), "other", None)])
    with pytest.raises(ValueError, match="given twice"):
        MemoryRegistry("mem", [_version("acme/a/onnx/v1/1"), _version("acme/a/onnx/v1/1")])
