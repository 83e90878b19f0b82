"""docs/api.md describes the public Python API as it is: names, signatures, errors and runnable examples.

Each ```` ```python signature ```` block lists ``kmenv.NAME(...)`` lines; each must read exactly as
``inspect.signature`` of that object does (annotations as written in the source), and every name in
``kmenv.__all__`` must have a section. The error table must give each error class of :mod:`kmenv.errors` its real
exit code and builtin base. The ``>>>`` examples run as doctests in a copy of the bundled example.
"""

from __future__ import annotations

import doctest
import inspect
import re
import shutil
from pathlib import Path

import pytest

import kmenv
import kmenv.errors

REPO = Path(__file__).resolve().parent.parent
API_DOC = REPO / "docs" / "api.md"
TEXT = API_DOC.read_text(encoding="utf-8")
SIGNATURE_BLOCK = re.compile(r"```python signature\n(.*?)```", re.S)
BUILTINS = (FileNotFoundError, LookupError, ConnectionError, OSError, ValueError, Exception)


def documented_signatures(text: str) -> dict[str, str]:
    """``{"kmenv.path": "(name: str, ...) -> Path", ...}`` from the signature blocks."""
    found: dict[str, str] = {}
    for block in SIGNATURE_BLOCK.findall(text):
        for line in block.strip().splitlines():
            name, paren, rest = line.partition("(")
            assert paren and name.startswith("kmenv."), f"docs/api.md: not a signature line: {line!r}"
            found[name] = "(" + rest
    return found


def resolve(dotted: str) -> object:
    obj: object = kmenv
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def actual_signature(obj: object) -> str:
    """The signature as the source spells it (``from __future__ import annotations`` keeps annotations as text)."""
    assert callable(obj)
    return str(inspect.signature(obj)).replace("'", "")


def test_every_public_name_has_a_section() -> None:
    headings = set(re.findall(r"^## `(kmenv\.[\w.]+)`", TEXT, re.M))
    missing = [name for name in kmenv.__all__ if f"kmenv.{name}" not in headings]
    assert not missing, f"docs/api.md has no section for {missing}"
    extra = [h for h in headings if h.split(".", 1)[1] not in kmenv.__all__]
    assert not extra, f"docs/api.md documents names that are not public: {extra}"


def test_every_callable_public_name_has_its_signature() -> None:
    documented = documented_signatures(TEXT)
    for name in kmenv.__all__:
        if callable(getattr(kmenv, name)):
            assert f"kmenv.{name}" in documented, f"docs/api.md gives no signature for kmenv.{name}"


@pytest.mark.parametrize("dotted", sorted(documented_signatures(TEXT)))
def test_documented_signature_matches_the_code(dotted: str) -> None:
    actual = actual_signature(resolve(dotted))
    assert documented_signatures(TEXT)[dotted] == actual, f"docs/api.md: {dotted} is now {dotted}{actual}"


def test_documented_attributes_exist() -> None:
    project_attributes = ("root", "spec_path", "lock_path", "env_path")
    for attribute in project_attributes:
        assert f"`{attribute}`" in TEXT
        assert hasattr(kmenv.Project, attribute) or attribute in kmenv.Project.__init__.__code__.co_names
    outcome_fields = {"InstallOutcome": "kmenv.actions.install", "LockOutcome": "kmenv.actions.lock"}
    for cls_name, module in outcome_fields.items():
        cls = getattr(__import__(module, fromlist=[cls_name]), cls_name)
        start = re.search(rf"The\s+`{cls_name}`\s+has", TEXT)
        assert start is not None, f"docs/api.md does not describe the fields of {cls_name}"
        section = TEXT[start.start() :].split("\n\n")[0]
        named = set(re.findall(r"`([a-z_]+)`", section))  # fields are snake_case
        fields = set(cls.__dataclass_fields__)
        assert named <= fields, f"docs/api.md names {sorted(named - fields)} as fields of {cls_name}"
        public = {f for f in fields if f not in {"state", "listings"}}  # internal hand-offs between actions
        assert public <= named, f"docs/api.md does not describe {sorted(public - named)} of {cls_name}"


def test_the_error_table_gives_each_error_its_exit_code_and_base() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| `(\w+)` \|", TEXT, re.M)
    table = {name: (int(code), base) for name, code, base in rows}
    errors = [
        getattr(kmenv.errors, name)
        for name in kmenv.errors.__all__
        if isinstance(getattr(kmenv.errors, name), type) and issubclass(getattr(kmenv.errors, name), kmenv.KmenvError)
    ]
    assert {e.__name__ for e in errors} == set(table), "docs/api.md's error table lists other classes than kmenv.errors"
    for error in errors:
        code, base = table[error.__name__]
        assert error.exit_code == code, f"{error.__name__} exits {error.exit_code}, docs/api.md says {code}"
        first = next(b for b in BUILTINS if issubclass(error, b))
        assert base == first.__name__, f"{error.__name__} is also a {first.__name__}, docs/api.md says {base}"


def test_the_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns(".kmenv"))
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(TEXT, {}, "docs/api.md", str(API_DOC), 0)
    assert len(test.examples) >= 10, "docs/api.md lost its examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
