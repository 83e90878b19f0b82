"""The static registry's documents: what a valid index and instance document look like, and each rule they enforce."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kmenv.errors import EXIT_USAGE, RegistryDocumentError
from kmenv.registry.static.documents import InstanceDocument, RegistryIndex, parse_index, parse_instance

SHA = "ab" * 32
WHERE = "https://models.example/registry/models/acme/bert/transformers/base.json"


def instance() -> dict[str, Any]:
    return {
        "format": 1,
        "handle": "acme/bert/transformers/base",
        "title": "BERT",
        "description": None,
        "versions": [
            {
                "version": 2,
                "license": "Apache 2.0",
                "requires": {"transformers": ">=4.30", "python": ">=3.9"},
                "base": {"handle": "acme/bert-base", "versions": ">=1"},
                "published": "2024-05-01T12:00:00Z",
                "files": [
                    {"path": "config.json", "size": 10, "sha256": SHA, "url": "../../../../files/sha256/ab/" + SHA},
                    {"path": "weights/model.safetensors", "size": 0, "sha256": SHA, "url": "https://cdn.example/x"},
                ],
            },
            {"version": 1, "license": None, "published": "2024-01-01T00:00:00.123Z", "files": []},
        ],
    }


def index() -> dict[str, Any]:
    return {
        "format": 1,
        "name": "acme",
        "instances": [
            {
                "handle": "acme/bert/transformers/base",
                "document": "models/acme/bert/transformers/base.json",
                "latest": 2,
            }
        ],
    }


def test_a_valid_instance_document_parses_into_frozen_values() -> None:
    document = parse_instance(instance(), WHERE)
    assert document.handle == "acme/bert/transformers/base"
    assert [v.version for v in document.versions] == [2, 1]
    newest = document.versions[0]
    assert newest.requires == {"transformers": ">=4.30", "python": ">=3.9"}
    assert newest.base is not None and newest.base.versions == ">=1"
    assert document.versions[1].requires == {} and document.versions[1].base is None
    with pytest.raises(ValueError):
        document.title = "changed"


def test_a_document_round_trips_through_its_json_form() -> None:
    document = parse_instance(instance(), WHERE)
    again = parse_instance(document.model_dump(mode="json"), WHERE)
    assert again == document


def test_a_valid_index_parses() -> None:
    parsed = parse_index(index(), "index.json")
    assert parsed.name == "acme"
    assert parsed.instances[0].latest == 2


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


FILE = ("versions", 0, "files", 0)

BROKEN_INSTANCES = {
    "path climbs out with ..": (_set((*FILE, "path"), "../etc/passwd"), "$.versions[0].files[0].path", "'..'"),
    "path is absolute": (_set((*FILE, "path"), "/etc/passwd"), "$.versions[0].files[0].path", "absolute"),
    "path has a backslash": (_set((*FILE, "path"), "weights\\model.bin"), "files[0].path", "backslash"),
    "path has an empty segment": (_set((*FILE, "path"), "weights//model.bin"), "files[0].path", "empty segment"),
    "path ends in a slash": (_set((*FILE, "path"), "weights/"), "files[0].path", "empty segment"),
    "sha256 in upper case": (_set((*FILE, "sha256"), SHA.upper()), "files[0].sha256", "64 lower-case hex"),
    "sha256 too short": (_set((*FILE, "sha256"), "abc"), "files[0].sha256", "64 lower-case hex"),
    "negative size": (_set((*FILE, "size"), -1), "files[0].size", "greater than or equal to 0"),
    "size as a string": (_set((*FILE, "size"), "10"), "files[0].size", "must be a whole number"),
    "url with another scheme": (_set((*FILE, "url"), "s3://bucket/x"), "files[0].url", "scheme 's3'"),
    "duplicate file paths": (
        _set(("versions", 0, "files", 1, "path"), "config.json"),
        "$.versions[0].files",
        "'config.json' appears more than once",
    ),
    "duplicate versions": (_set(("versions", 1, "version"), 2), "$.versions", "version 2 appears more than once"),
    "version zero": (_set(("versions", 1, "version"), 0), "$.versions[1].version", "greater than or equal to 1"),
    "version as a string": (_set(("versions", 1, "version"), "1"), "$.versions[1].version", "must be a whole number"),
    "version as a bool": (_set(("versions", 1, "version"), True), "$.versions[1].version", "must be a whole number"),
    "no versions": (_set(("versions",), []), "$.versions", "at least one version"),
    "missing license key": (_drop(("versions", 0, "license")), "$.versions[0].license", "required key is missing"),
    "unknown key": (_set(("versions", 0, "licence"), "MIT"), "$.versions[0].licence", "unknown key"),
    "bad timestamp": (_set(("versions", 0, "published"), "2024-05-01 12:00"), "published", "ISO-8601"),
    "impossible date": (_set(("versions", 0, "published"), "2024-02-30T00:00:00Z"), "published", "real date"),
    "bad requirement": (_set(("versions", 0, "requires", "torch"), "2.3"), "requires", "PEP 440"),
    "bad library name": (_set(("versions", 0, "requires", "-x"), ">=1"), "requires", "not a library name"),
    "base pins a version": (
        _set(("versions", 0, "base", "handle"), "acme/bert-base/pyTorch/base/3"),
        "base.handle",
        "use 'versions'",
    ),
    "base specifier": (_set(("versions", 0, "base", "versions"), "2"), "base.versions", "PEP 440"),
    "partial instance handle": (_set(("handle",), "acme/bert"), "$.handle", "owner/model/framework/variation"),
    "framework misspelt": (
        _set(("handle",), "acme/bert/Transformers/base"),
        "$.handle",
        "'acme/bert/transformers/base'",
    ),
    "versioned instance handle": (_set(("handle",), "acme/bert/transformers/base/2"), "$.handle", "exactly"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_INSTANCES))
def test_each_rule_of_the_instance_document_is_enforced(case: str) -> None:
    change, where, text = BROKEN_INSTANCES[case]
    data = copy.deepcopy(instance())
    change(data)
    with pytest.raises(RegistryDocumentError) as caught:
        parse_instance(data, WHERE)
    message = str(caught.value)
    assert message.startswith(WHERE + ": 1 problem: ")
    assert where in message and text in message
    assert "\n" not in message
    assert caught.value.hint and "kmenv registry build" in caught.value.hint


def _duplicate_first_instance(doc: dict[str, Any]) -> None:
    doc["instances"].append(dict(doc["instances"][0]))


BROKEN_INDEXES = {
    "duplicate handles": (
        _duplicate_first_instance,
        "$.instances",
        "appears more than once",
    ),
    "document path climbs out": (_set(("instances", 0, "document"), "../x.json"), "instances[0].document", "'..'"),
    "latest is zero": (_set(("instances", 0, "latest"), 0), "instances[0].latest", "greater than or equal to 1"),
    "name missing": (_drop(("name",)), "$.name", "required key is missing"),
    "instances not a list": (_set(("instances",), {}), "$.instances", "must be a JSON array, not {}"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_INDEXES))
def test_each_rule_of_the_index_is_enforced(case: str) -> None:
    change, where, text = BROKEN_INDEXES[case]
    data = copy.deepcopy(index())
    change(data)
    with pytest.raises(RegistryDocumentError) as caught:
        parse_index(data, "/srv/registry/index.json")
    assert where in str(caught.value) and text in str(caught.value)
    assert str(caught.value).startswith("/srv/registry/index.json: ")


def test_every_problem_is_named_in_one_message() -> None:
    data = instance()
    data["versions"][0]["files"][0]["sha256"] = "nope"
    data["versions"][0]["files"][1]["path"] = "/abs"
    data["title"] = 3
    with pytest.raises(RegistryDocumentError) as caught:
        parse_instance(data, WHERE)
    message = str(caught.value)
    assert "3 problems" in message
    for place in ("$.title", "$.versions[0].files[0].sha256", "$.versions[0].files[1].path"):
        assert place in message


def test_a_newer_format_asks_for_a_newer_kmenv() -> None:
    data = instance()
    data["format"] = 2
    with pytest.raises(RegistryDocumentError) as caught:
        parse_instance(data, WHERE)
    assert "$.format" in str(caught.value)
    assert caught.value.hint is not None and "upgrade kmenv" in caught.value.hint


@pytest.mark.parametrize("value", [None, [], "index", 3])
def test_a_document_that_is_not_an_object_is_refused(value: object) -> None:
    with pytest.raises(RegistryDocumentError) as caught:
        parse_index(value, "index.json")
    assert "index.json: 1 problem: $: " in str(caught.value)


def test_document_errors_are_registry_errors_and_value_errors() -> None:
    with pytest.raises(ValueError) as caught:
        parse_index({}, "index.json")
    assert isinstance(caught.value, RegistryDocumentError)
    assert caught.value.exit_code == EXIT_USAGE


def test_json_schemas_describe_the_format() -> None:
    index_schema = RegistryIndex.model_json_schema()
    assert set(index_schema["required"]) == {"format", "name", "instances"}
    assert index_schema["additionalProperties"] is False
    instance_schema = InstanceDocument.model_json_schema()
    file_schema = instance_schema["$defs"]["FileRecord"]
    assert file_schema["properties"]["sha256"]["pattern"] == "^[0-9a-f]{64}$"
    assert set(file_schema["required"]) == {"path", "size", "sha256", "url"}
    assert instance_schema["$defs"]["VersionRecord"]["properties"]["version"]["minimum"] == 1
