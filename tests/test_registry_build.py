"""`kmenv registry build`: from a folder of model files to a deterministic, content-addressed static registry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from kmenv.errors import EXIT_USAGE, UsageError
from kmenv.registry.static.build import RegistrySourceError, build_registry
from kmenv.registry.static.registry import StaticRegistry
from kmenv.values.handles import Handle

BERT = "acme/bert/transformers/base"
LORA = "acme/bert-lora/pyTorch/chat"


def write(path: Path, content: str | bytes | Mapping[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Mapping):
        content = json.dumps(content)
    path.write_bytes(content.encode() if isinstance(content, str) else content)


def make_source(root: Path) -> Path:
    """Two instances: a model with two versions sharing a config, and an adapter that needs it at >=2."""
    bert = root / BERT
    write(bert / "instance.json", {"title": "BERT", "description": "An encoder."})
    for number, weights in ((1, b"\x00\x01" * 64), (2, b"\x02\x03" * 64)):
        meta = {
            "license": "Apache 2.0",
            "published": f"2024-0{number}-01T00:00:00Z",
            "requires": {"transformers": ">=4.30"},
        }
        write(bert / str(number) / "version.json", meta)
        write(bert / str(number) / "config.json", '{"hidden_size": 8}\n')
        write(bert / str(number) / "weights" / "model.bin", weights)
    lora = root / LORA / "1"
    base = {"handle": BERT, "versions": ">=2"}
    write(lora / "version.json", {"license": "MIT", "published": "2024-03-01T00:00:00Z", "base": base})
    write(lora / "adapter.bin", b"lora")
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "source")


def test_a_build_writes_an_index_documents_and_content_addressed_files(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry"
    report = build_registry(source, out, name="acme-models")
    assert (report.instances, report.versions, report.files, report.blobs) == (2, 3, 5, 4)
    assert report.total_bytes == 2 * (19 + 128) + 4
    assert report.stored_bytes == 19 + 2 * 128 + 4
    assert report.out == out
    index = json.loads((out / "index.json").read_text())
    assert index == {
        "format": 1,
        "name": "acme-models",
        "instances": [  # sorted as strings: "acme/bert-lora/..." < "acme/bert/..."
            {"handle": LORA, "document": f"models/{LORA}.json", "latest": 1},
            {"handle": BERT, "document": f"models/{BERT}.json", "latest": 2},
        ],
    }
    document = json.loads((out / "models" / f"{BERT}.json").read_text())
    assert document["title"] == "BERT"
    assert [v["version"] for v in document["versions"]] == [2, 1]
    newest = document["versions"][0]
    assert newest["requires"] == {"transformers": ">=4.30"} and newest["base"] is None
    assert [f["path"] for f in newest["files"]] == ["config.json", "weights/model.bin"]
    for entry in newest["files"]:
        blob = (out / "models" / "acme" / "bert" / "transformers" / entry["url"]).resolve()
        assert blob.relative_to(out.resolve()).as_posix() == f"files/sha256/{entry['sha256'][:2]}/{entry['sha256']}"
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == entry["sha256"]
    lora = json.loads((out / "models" / f"{LORA}.json").read_text())
    assert lora["versions"][0]["base"] == {"handle": BERT, "versions": ">=2"}


def test_identical_files_are_stored_once(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry"
    build_registry(source, out, name="acme")
    blobs = [p for p in (out / "files").rglob("*") if p.is_file()]
    assert len(blobs) == 4  # config.json is the same in both versions


def test_json_is_written_with_sorted_keys_two_spaces_and_a_final_newline(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry"
    build_registry(source, out, name="acme")
    for path in [out / "index.json", *(out / "models").rglob("*.json")]:
        text = path.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_building_twice_gives_identical_bytes(source: Path, tmp_path: Path) -> None:
    build_registry(source, tmp_path / "a", name="acme")
    build_registry(source, tmp_path / "b", name="acme")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    build_registry(source, tmp_path / "a", name="acme")  # in place, over the previous build
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_the_output_reads_back_as_a_static_registry(source: Path, tmp_path: Path) -> None:
    build_registry(source, tmp_path / "registry", name="acme")
    registry = StaticRegistry("acme", str(tmp_path / "registry"))
    adapter = registry.versions(Handle.parse(LORA))[0]
    assert adapter.base is not None and str(adapter.base) == f"{BERT}>=2"
    assert [c.version for c in registry.versions(Handle.parse(BERT))] == [2, 1]


def test_a_rebuild_replaces_the_previous_build_whole(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry"
    build_registry(source, out, name="acme")
    write(source / BERT / "2" / "weights" / "model.bin", b"retrained")
    build_registry(source, out, name="acme")
    stale = hashlib.sha256(b"\x02\x03" * 64).hexdigest()
    assert not (out / "files" / "sha256" / stale[:2] / stale).exists()
    fresh = hashlib.sha256(b"retrained").hexdigest()
    assert (out / "files" / "sha256" / fresh[:2] / fresh).read_bytes() == b"retrained"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry", "source"]  # no staging folders left


def test_an_empty_output_folder_is_fine(source: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert build_registry(source, tmp_path / "empty", name="acme").instances == 2


def test_a_folder_that_is_not_a_registry_is_never_overwritten(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "precious"
    write(out / "thesis.tex", "years of work")
    with pytest.raises(UsageError, match="is not empty and does not hold a registry built by kmenv") as caught:
        build_registry(source, out, name="acme")
    assert caught.value.hint is not None and "new or empty folder" in caught.value.hint
    assert (out / "thesis.tex").read_text() == "years of work"


def test_a_previous_build_with_extra_files_is_not_taken_for_a_registry(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry"
    build_registry(source, out, name="acme")
    write(out / "notes.txt", "mine")
    with pytest.raises(UsageError, match="is not empty"):
        build_registry(source, out, name="acme")


def test_the_output_may_not_overlap_the_source(source: Path) -> None:
    with pytest.raises(UsageError, match="overlap"):
        build_registry(source, source / "registry", name="acme")
    with pytest.raises(UsageError, match="overlap"):
        build_registry(source, source.parent, name="acme")


def test_a_failed_build_leaves_the_previous_one_untouched(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry"
    build_registry(source, out, name="acme")
    before = tree(out)
    (source / BERT / "2" / "version.json").write_text("{")
    with pytest.raises(RegistrySourceError):
        build_registry(source, out, name="acme")
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry", "source"]


Breakage = Callable[[Path], object]


def _version_json(content: str | dict[str, object]) -> Breakage:
    return lambda root: write(root / BERT / "2" / "version.json", content)


def _remove_files_but_version_json(folder: Path) -> None:
    for path in folder.iterdir():
        if path.name != "version.json":
            path.unlink()


BROKEN_SOURCES: dict[str, tuple[Breakage, str, str, str]] = {
    "missing version.json": (
        lambda root: (root / BERT / "2" / "version.json").unlink(),
        f"{BERT}/2/version.json",
        "is missing",
        "add version.json",
    ),
    "version.json is not JSON": (_version_json('{"license": "MIT",\n  published}'), "version.json:2:3", "JSON", "fix"),
    "unknown key in version.json": (
        _version_json({"license": "MIT", "published": "2024-01-01T00:00:00Z", "licence": "MIT"}),
        "version.json: licence:",
        "unknown key",
        "version.json holds",
    ),
    "no published date": (_version_json({"license": "MIT"}), "version.json: published:", "missing", '"published"'),
    "licence omitted": (
        _version_json({"published": "2024-01-01T00:00:00Z"}),
        "version.json: license:",
        "missing",
        "or null",
    ),
    "bad requirement": (
        _version_json({"license": None, "published": "2024-01-01T00:00:00Z", "requires": {"torch": "2"}}),
        "version.json: requires:",
        "PEP 440",
        '"requires"',
    ),
    "non-integer version folder": (
        lambda root: (root / BERT / "2").rename(root / BERT / "v2"),
        f"{BERT}/v2",
        "'v2' is not a whole number",
        "1, 2, 3",
    ),
    "leading zero in a version folder": (
        lambda root: (root / BERT / "2").rename(root / BERT / "02"),
        f"{BERT}/02",
        "not a whole number",
        "no leading zeros",
    ),
    "framework in the wrong case": (
        lambda root: (root / "acme/bert/transformers").rename(root / "acme/bert/Transformers"),
        "acme/bert/Transformers",
        "not a framework spelling",
        "rename the folder to 'transformers'",
    ),
    "framework misspelt": (
        lambda root: (root / "acme/bert/transformers").rename(root / "acme/bert/transfomers"),
        "acme/bert/transfomers",
        "not a framework spelling",
        "'transformers'",
    ),
    "a file where a folder belongs": (
        lambda root: write(root / "acme" / "bert" / "notes.txt", "x"),
        "acme/bert/notes.txt",
        "is a file where a folder belongs",
        "SOURCE/<owner>",
    ),
    "a version without files": (
        lambda root: _remove_files_but_version_json(root / LORA / "1"),
        f"{LORA}/1",
        "no files",
        "add its files",
    ),
    "a base that is not in the source": (
        lambda root: write(
            root / LORA / "1" / "version.json",
            {"license": "MIT", "published": "2024-03-01T00:00:00Z", "base": {"handle": "acme/gpt"}},
        ),
        "version.json: base.handle:",
        "base acme/gpt is not in this registry's source",
        "add the base model",
    ),
    "a base specifier no version meets": (
        lambda root: write(
            root / LORA / "1" / "version.json",
            {"license": "MIT", "published": "2024-03-01T00:00:00Z", "base": {"handle": BERT, "versions": ">=5"}},
        ),
        "version.json: base.versions:",
        "no version of acme/bert/transformers/base matches '>=5' (it has [1, 2])",
        "loosen",
    ),
    "a malformed base handle": (
        lambda root: write(
            root / LORA / "1" / "version.json",
            {"license": "MIT", "published": "2024-03-01T00:00:00Z", "base": {"handle": "acme/bert/tf/x"}},
        ),
        "version.json: base.handle:",
        "unknown framework 'tf'",
        '"base"',
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_SOURCES))
def test_bad_source_input_is_a_usage_error_naming_the_file_and_the_fix(case: str, source: Path, tmp_path: Path) -> None:
    breakage, place, problem, fix = BROKEN_SOURCES[case]
    breakage(source)
    with pytest.raises(RegistrySourceError) as caught:
        build_registry(source, tmp_path / "registry", name="acme")
    error = caught.value
    assert isinstance(error, UsageError) and error.exit_code == EXIT_USAGE
    assert place in str(error) and problem in str(error)
    assert error.hint is not None and fix in error.hint
    assert not (tmp_path / "registry").exists()


def test_every_problem_in_the_source_is_reported_at_once(source: Path, tmp_path: Path) -> None:
    (source / BERT / "2" / "version.json").unlink()
    (source / LORA / "1").rename(source / LORA / "one")
    with pytest.raises(RegistrySourceError) as caught:
        build_registry(source, tmp_path / "registry", name="acme")
    assert "(and 1 more problem)" in str(caught.value)
    lines = caught.value.details()
    assert len(lines) == 2
    assert any("version.json: is missing" in line for line in lines)
    assert any("'one' is not a whole number" in line for line in lines)


def test_an_empty_source_says_what_layout_is_expected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RegistrySourceError, match="holds no model instances") as caught:
        build_registry(tmp_path / "empty", tmp_path / "registry", name="acme")
    assert caught.value.hint is not None and "<owner>/<model>/<framework>/<variation>/<version>" in caught.value.hint


def test_hidden_files_and_top_level_files_are_ignored(source: Path, tmp_path: Path) -> None:
    write(source / "README.md", "how this source is organised")
    write(source / ".git" / "HEAD", "ref: refs/heads/main")
    write(source / "acme" / ".DS_Store", "junk")
    assert build_registry(source, tmp_path / "registry", name="acme").instances == 2


def test_a_missing_source_and_a_blank_name_are_usage_errors(source: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a folder"):
        build_registry(tmp_path / "nope", tmp_path / "registry", name="acme")
    with pytest.raises(UsageError, match="needs a name"):
        build_registry(source, tmp_path / "registry", name=" ")


def test_the_report_reads_well_and_serialises() -> None:
    from kmenv.registry.static.build import BuildReport

    report = BuildReport(Path("out"), "acme", 2, 3, 7, 5, 2048, 1024)
    assert str(report) == "2 instances, 3 versions, 7 files (2.0 KiB; 1.0 KiB stored once each)"
    assert json.loads(json.dumps(report.as_dict()))["stored_bytes"] == 1024
