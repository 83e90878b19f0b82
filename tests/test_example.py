"""The bundled example: the committed registry is exactly what make_example.py builds, and it shows what it promises.

``examples/registry`` is what a new user installs offline, and ``examples/quickstart`` the project
they try first; these tests keep both honest so nobody edits the registry by hand.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import itertools
import json
import struct
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from packaging.specifiers import SpecifierSet
from ruamel.yaml import YAML

from kmenv.policy import RulePolicy
from kmenv.policy.names import normalise_licence
from kmenv.registry.static.registry import StaticRegistry
from kmenv.values.candidates import Candidate
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REGISTRY = EXAMPLES / "registry"
QUICKSTART = EXAMPLES / "quickstart" / "kmodels.yaml"


def load_make_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_example", EXAMPLES / "make_example.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_example"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def registry() -> Iterator[StaticRegistry]:
    with StaticRegistry("example", str(REGISTRY)) as r:
        yield r


@pytest.fixture(scope="module")
def everything(registry: StaticRegistry) -> dict[Handle, list[Candidate]]:
    return {h: list(registry.versions(h)) for h in registry.list_all()}


def by_model(everything: dict[Handle, list[Candidate]], model: str) -> list[Candidate]:
    (versions,) = [v for h, v in everything.items() if h.model == model]
    return versions


# -- the committed registry is a fresh build -----------------------------------------------


def test_the_committed_registry_equals_a_fresh_build(tmp_path: Path) -> None:
    make_example = load_make_example()
    make_example.build_example(tmp_path / "first")
    fresh = tree(tmp_path / "first")
    committed = tree(REGISTRY)
    assert sorted(committed) == sorted(fresh), "run `python examples/make_example.py` and commit the result"
    changed = [path for path in fresh if committed[path] != fresh[path]]
    assert not changed, f"examples/registry differs from a fresh build in {changed}; rerun examples/make_example.py"
    make_example.build_example(tmp_path / "second")
    assert tree(tmp_path / "second") == fresh


def test_the_generator_needs_nothing_but_the_standard_library_and_kmenv() -> None:
    source = (EXAMPLES / "make_example.py").read_text(encoding="utf-8")
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and not line.startswith("from __future__")
    }
    assert imported <= set(sys.stdlib_module_names) | {"kmenv"}


def test_every_file_matches_its_recorded_size_and_sha256(everything: dict[Handle, list[Candidate]]) -> None:
    for versions in everything.values():
        for candidate in versions:
            for entry in candidate.files:
                assert entry.url is not None and entry.url.startswith(REGISTRY.as_uri() + "/files/sha256/")
                data = (REGISTRY / entry.url.removeprefix(REGISTRY.as_uri() + "/")).read_bytes()
                assert len(data) == entry.size, entry.path
                assert hashlib.sha256(data).hexdigest() == entry.sha256, entry.path


def test_the_registry_stays_small() -> None:
    assert sum(len(data) for data in tree(REGISTRY).values()) < 2 * 1024 * 1024


# -- the content it promises ---------------------------------------------------------------


def test_it_has_enough_instances_versions_and_frameworks(everything: dict[Handle, list[Candidate]]) -> None:
    assert len(everything) >= 6
    assert all(2 <= len(versions) <= 5 for versions in everything.values())
    assert {"transformers", "pyTorch", "keras", "onnx", "gguf", "scikitLearn"} <= {h.framework for h in everything}
    assert {h.owner for h in everything} == {"kmenv-examples"}


def test_it_covers_every_kind_of_licence(everything: dict[Handle, list[Candidate]]) -> None:
    published = {c.license for versions in everything.values() for c in versions}
    ids = {normalise_licence(name) for name in published}
    assert None not in ids, "every example licence must be one kmenv recognises"
    assert {"Apache-2.0", "MIT"} <= ids  # permissive
    assert ids & {"GPL-3.0-only", "CC-BY-SA-4.0"}  # copyleft
    assert "CC-BY-NC-4.0" in ids  # non-commercial
    assert "LicenseRef-kmenv-Gemma" in ids  # custom, gated


def test_one_instance_changes_its_licence_in_its_newest_version(everything: dict[Handle, list[Candidate]]) -> None:
    versions = by_model(everything, "bias-add")
    licences = {c.version: normalise_licence(c.license) for c in versions}
    assert licences == {3: "CC-BY-NC-4.0", 2: "Apache-2.0", 1: "Apache-2.0"}
    newest, previous = versions[0], versions[1]
    assert {f.sha256 for f in newest.files if f.path == "model.onnx"} == {
        f.sha256 for f in previous.files if f.path == "model.onnx"
    }, "v3 only relicensed v2's model"


def test_the_fine_tune_needs_a_newer_base_from_version_3(everything: dict[Handle, list[Candidate]]) -> None:
    adapter = {c.version: c for c in by_model(everything, "tiny-lm-lora")}
    base_versions = [c.version for c in by_model(everything, "tiny-lm")]
    for number, candidate in adapter.items():
        assert candidate.base is not None
        assert str(candidate.base.handle) == "kmenv-examples/tiny-lm/pyTorch/base"
        admitted = [v for v in base_versions if SpecifierSet(candidate.base.versions).contains(str(v))]
        assert admitted == ([3, 2] if number == 3 else [3, 2, 1])
    assert {f.path for f in adapter[3].files} >= {"adapter_config.json", "adapter_model.safetensors"}


def test_only_the_newest_tiny_bert_needs_the_newer_transformers(everything: dict[Handle, list[Candidate]]) -> None:
    needs = {c.version: c.requires["transformers"] for c in by_model(everything, "tiny-bert")}
    assert needs == {4: ">=4.50", 3: ">=4.30", 2: ">=4.30", 1: ">=4.30"}


# -- the files are real formats ------------------------------------------------------------


def files_named(everything: dict[Handle, list[Candidate]], suffix: str) -> Iterator[bytes]:
    for versions in everything.values():
        for candidate in versions:
            for entry in candidate.files:
                if entry.path.endswith(suffix):
                    assert entry.url is not None
                    yield (REGISTRY / entry.url.removeprefix(REGISTRY.as_uri() + "/")).read_bytes()


def test_safetensors_files_follow_the_format(everything: dict[Handle, list[Candidate]]) -> None:
    found = list(files_named(everything, ".safetensors"))
    assert len(found) >= 10
    for data in found:
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + size])
        body = data[8 + size :]
        spans = sorted(t["data_offsets"] for name, t in header.items() if name != "__metadata__")
        assert spans[0][0] == 0 and spans[-1][1] == len(body)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
        for name, tensor in header.items():
            if name != "__metadata__":
                count = 1
                for d in tensor["shape"]:
                    count *= d
                assert tensor["dtype"] == "F32" and tensor["data_offsets"][1] - tensor["data_offsets"][0] == 4 * count


def protobuf_fields(data: bytes) -> dict[int, list[int | bytes]]:
    """Decode one protobuf message's fields (varints and length-delimited only, as ONNX uses here)."""

    def varint(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[at]
            value |= (byte & 0x7F) << shift
            at, shift = at + 1, shift + 7
            if not byte & 0x80:
                return value, at

    fields: dict[int, list[int | bytes]] = {}
    at = 0
    while at < len(data):
        key, at = varint(at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(at)
            fields.setdefault(number, []).append(value)
        else:
            assert wire == 2, f"unexpected wire type {wire}"
            length, at = varint(at)
            fields.setdefault(number, []).append(data[at : at + length])
            at += length
    return fields


def message(fields: dict[int, list[int | bytes]], number: int) -> bytes:
    value = fields[number][0]
    assert isinstance(value, bytes)
    return value


def test_onnx_files_are_one_add_node_graphs(everything: dict[Handle, list[Candidate]]) -> None:
    for data in files_named(everything, ".onnx"):
        model = protobuf_fields(data)
        assert model[1] == [8]  # ir_version
        assert protobuf_fields(message(model, 8)) == {2: [13]}  # opset_import: default domain, version 13
        graph = protobuf_fields(message(model, 7))
        node = protobuf_fields(message(graph, 1))
        assert node[4] == [b"Add"] and node[1] == [b"x", b"bias"] and node[2] == [b"y"]
        bias = protobuf_fields(message(graph, 5))
        assert bias[8] == [b"bias"] and bias[1] == [4] and len(message(bias, 9)) == 16


def test_gguf_files_have_a_version_3_header(everything: dict[Handle, list[Candidate]]) -> None:
    found = list(files_named(everything, ".gguf"))
    assert found
    for data in found:
        magic, version, tensors, metadata = struct.unpack("<4sIQQ", data[:24])
        assert (magic, version, tensors, metadata) == (b"GGUF", 3, 2, 6)
        (key_length,) = struct.unpack("<Q", data[24:32])
        assert data[32 : 32 + key_length] == b"general.architecture"


def test_keras_weights_are_a_numpy_archive(everything: dict[Handle, list[Candidate]]) -> None:
    for data in files_named(everything, ".npz"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
            assert "output.kernel.npy" in names
            npy = archive.read("output.bias.npy")
            assert npy.startswith(b"\x93NUMPY\x01\x00")
            (header_length,) = struct.unpack("<H", npy[8:10])
            assert (10 + header_length) % 64 == 0
            assert b"'shape': (3,)" in npy[10 : 10 + header_length]


def test_tokenizers_are_hugging_face_tokenizer_json(everything: dict[Handle, list[Candidate]]) -> None:
    kinds = {json.loads(data)["model"]["type"] for data in files_named(everything, "tokenizer.json")}
    assert kinds == {"WordPiece", "WordLevel"}


# -- the quickstart project ----------------------------------------------------------------


def newest_allowed(
    registry: StaticRegistry, name: str, handle: Handle, spec: str, policy: RulePolicy, env: TargetEnvironment
) -> Candidate:
    """The newest version the constraint, the policy and the environment all admit (what a resolver picks)."""
    for candidate in registry.versions(handle):
        if (
            SpecifierSet(spec).contains(str(candidate.version))
            and policy.evaluate(name, candidate.handle, candidate.license).allowed
            and not env.unmet(candidate.requires)
        ):
            return candidate
    raise AssertionError(f"nothing fits {name}")


def test_the_quickstart_shows_the_environment_and_the_policy_at_work(registry: StaticRegistry) -> None:
    spec = YAML(typ="safe").load(QUICKSTART.read_text(encoding="utf-8"))
    assert spec["version"] == 1
    assert (QUICKSTART.parent / spec["registries"]["example"]["url"]).resolve() == REGISTRY.resolve()
    env = TargetEnvironment.from_strings(spec["environment"]["python"], spec["environment"]["packages"])
    licences = spec["policy"]["licenses"]
    policy = RulePolicy(allow=tuple(licences["allow"]), unknown=licences["unknown"])
    assert set(licences["allow"]) == {"Apache-2.0", "MIT"} and licences["unknown"] == "deny"

    chosen: dict[str, int] = {}
    for name, declared in spec["models"].items():
        if isinstance(declared, str):
            text, _, constraint = declared.partition("@")
        else:
            text, constraint = declared["handle"], declared.get("version", "")
        picked = newest_allowed(registry, name, Handle.parse(text), constraint, policy, env)
        chosen[name] = picked.version
        if picked.base is not None:
            base = newest_allowed(registry, "base", picked.base.handle, picked.base.versions, policy, env)
            chosen[f"{name} base {picked.base.handle.model}"] = base.version

    assert 4 <= len(spec["models"]) <= 6
    assert chosen == {
        "bert": 3,  # v4 needs transformers>=4.50; the environment has 4.44.2
        "adder": 2,  # v3 is CC BY-NC 4.0, which the policy does not allow
        "chat": 3,
        "chat base tiny-lm": 3,  # brought in by the adapter, not declared
        "iris": 2,
    }
    adder = registry.versions(Handle.parse(spec["models"]["adder"]))[0]
    assert not policy.evaluate("adder", adder.handle, adder.license).allowed  # the newest is visibly denied


def test_the_quickstart_explains_itself() -> None:
    lines = QUICKSTART.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.strip().startswith("#")]
    assert len(comments) >= 15
    text = "\n".join(lines)
    for point in ("transformers>=4.50", "CC BY-NC 4.0", "base model", "kmenv.path"):
        assert point in text
