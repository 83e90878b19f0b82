"""``set_model_versions``: the kmodels.yaml edit behind ``upgrade --latest`` changes the constraint and nothing else."""

from __future__ import annotations

import pytest

from kmenv.errors import NotInstalledError
from kmenv.spec.document import parse_spec
from kmenv.spec.edit import set_model_versions

TEXT = """\
version: 1   # the format
models:
  # a shorthand with a constraint
  short: acme/a/onnx/v@>=1,<3   # keep me
  pinned: acme/b/onnx/v/2       # a versioned handle
  long:
    handle: acme/c/onnx/v
    version: ">=2"   # double-quoted
    files: ["*.json"]
  bare:
    handle: acme/d/onnx/v   # no version yet
    registry: main
  flow: {handle: acme/e/onnx/v, version: '==1'}   # flow style
registries:
  main:
    url: ../registry
"""


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new), after
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


@pytest.mark.parametrize(
    ("name", "versions", "was", "now"),
    [
        ("short", ">=1", "  short: acme/a/onnx/v@>=1,<3   # keep me", "  short: acme/a/onnx/v@>=1   # keep me"),
        ("short", "", "  short: acme/a/onnx/v@>=1,<3   # keep me", "  short: acme/a/onnx/v   # keep me"),
        (
            "pinned",
            ">=2",
            "  pinned: acme/b/onnx/v/2       # a versioned handle",
            "  pinned: acme/b/onnx/v@>=2       # a versioned handle",
        ),
        ("long", ">=4", '    version: ">=2"   # double-quoted', '    version: ">=4"   # double-quoted'),
        (
            "flow",
            ">=1",
            "  flow: {handle: acme/e/onnx/v, version: '==1'}   # flow style",
            "  flow: {handle: acme/e/onnx/v, version: '>=1'}   # flow style",
        ),
        (
            "flow",
            "",
            "  flow: {handle: acme/e/onnx/v, version: '==1'}   # flow style",
            "  flow: {handle: acme/e/onnx/v}   # flow style",
        ),
    ],
)
def test_only_the_constraint_changes(name: str, versions: str, was: str, now: str) -> None:
    edited = set_model_versions(TEXT, name, versions)
    assert changed_lines(TEXT, edited) == [(was, now)]
    declared = {m.name: m for m in parse_spec(edited).declared_models()}
    assert declared[name].versions == versions


def test_removing_a_version_key_drops_its_line_only() -> None:
    edited = set_model_versions(TEXT, "long", "")
    assert edited == TEXT.replace('    version: ">=2"   # double-quoted\n', "")


def test_a_mapping_without_a_version_gets_one_under_its_handle() -> None:
    edited = set_model_versions(TEXT, "bare", ">=3")
    assert "    handle: acme/d/onnx/v   # no version yet\n    version: '>=3'\n    registry: main\n" in edited
    assert {m.name: m.versions for m in parse_spec(edited).declared_models()}["bare"] == ">=3"


def test_windows_line_endings_survive() -> None:
    crlf = TEXT.replace("\n", "\r\n")
    edited = set_model_versions(crlf, "bare", ">=3")
    assert "\n" not in edited.replace("\r\n", "")


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(NotInstalledError, match="no model named 'nope'"):
        set_model_versions(TEXT, "nope", ">=1")
