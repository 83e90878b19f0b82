"""The committed JSON Schemas match the code, and the files we ship validate against them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmenv.actions.schemas import SCHEMAS, default_folder, render

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("filename", sorted(SCHEMAS))
def test_committed_schema_matches_the_code(filename: str) -> None:
    committed = (REPO / "schemas" / filename).read_text(encoding="utf-8")
    assert committed == render(filename), (
        f"schemas/{filename} drifted; run `python -m kmenv.actions.schemas` and commit"
    )


def test_schemas_are_json_schema_documents() -> None:
    for filename in SCHEMAS:
        schema = json.loads(render(filename))
        assert schema["$schema"].startswith("https://json-schema.org/")
        assert schema["type"] == "object"


def validator(filename: str):  # type: ignore[no-untyped-def]
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(render(filename)))


def test_the_quickstart_kmodels_yaml_validates() -> None:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((REPO / "examples" / "quickstart" / "kmodels.yaml").read_text())
    assert list(validator("kmodels.schema.json").iter_errors(data)) == []


def test_the_example_registry_validates() -> None:
    registry = REPO / "examples" / "registry"
    index = json.loads((registry / "index.json").read_text())
    assert list(validator("registry-index.schema.json").iter_errors(index)) == []
    for entry in index["instances"]:
        doc = json.loads((registry / entry["document"]).read_text())
        assert list(validator("registry-instance.schema.json").iter_errors(doc)) == []


def test_a_real_lock_validates(example: Path) -> None:
    from kmenv.actions.lock import lock_project
    from kmenv.actions.project import Project

    text = lock_project(Project(example)).text
    assert list(validator("kmodels-lock.schema.json").iter_errors(json.loads(text))) == []


def test_the_schema_writer_rewrites_the_committed_folder_by_default() -> None:
    assert default_folder() == REPO / "schemas"


def test_the_output_folder_holds_a_schema_for_every_kind_and_nothing_else() -> None:
    from kmenv.actions.outputs import DOCUMENTS
    from kmenv.actions.schemas import OUTPUT_FOLDER

    committed = {p.name for p in (REPO / "schemas" / OUTPUT_FOLDER).iterdir()}
    assert committed == {f"{kind}.schema.json" for kind in DOCUMENTS}, "run `python -m kmenv.actions.schemas`"


def test_the_writer_removes_the_schema_of_a_kind_that_is_gone(tmp_path: Path) -> None:
    from kmenv.actions.schemas import OUTPUT_FOLDER, write_all

    stale = tmp_path / OUTPUT_FOLDER / "retired.schema.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    written = write_all(tmp_path)
    assert not stale.exists()
    assert {p.relative_to(tmp_path).as_posix() for p in written} == set(SCHEMAS)
    for path in written:
        assert path.read_text(encoding="utf-8") == (REPO / "schemas" / path.relative_to(tmp_path)).read_text()


@pytest.mark.parametrize("filename", sorted(f for f in SCHEMAS if f.startswith("output/")))
def test_an_output_schema_pins_its_version_and_forbids_unknown_fields(filename: str) -> None:
    schema = json.loads(render(filename))
    assert schema["description"].startswith("what `") and "prints on stdout" in schema["description"]
    assert schema["properties"]["schema_version"]["const"] >= 1
    assert schema["additionalProperties"] is False
    assert "schema_version" in schema["required"]
