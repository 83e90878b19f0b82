"""kmodels.yaml is small: hostile files end in one located problem and exit 2, quickly, with short output.

Each case runs through the CLI (``kmenv lock``) or :func:`parse_spec`, and must finish within a generous time bound
(the suite runs on small, loaded machines); before these bounds they hung, recursed or quoted megabytes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import Result, Runner

from kmenv.errors import MAX_PROBLEMS_SHOWN, SpecError
from kmenv.spec.document import decode_spec, parse_spec
from kmenv.spec.edit import add_model
from kmenv.spec.limits import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_SCALAR_CHARS,
    MAX_SPEC_BYTES,
    MAX_TEXT_CHARS,
)

SECONDS = 20.0  # generous: each case takes well under a second on an idle machine
LOCATED = re.compile(r"^error: \S*kmodels\.yaml:\d+:\d+: ")
HEAD = "version: 1\nmodels:\n"


@contextmanager
def quick(limit: float = SECONDS) -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < limit


def laughs(levels: int, width: int) -> str:
    """The billion laughs: each level an anchored list of ``width`` aliases of the level below."""
    lines = ["version: 1", "a0: &a0 [lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join([*lines, "models: {}"]) + "\n"


def lock(kmenv: Runner, tmp_path: Path, data: bytes) -> Result:
    (tmp_path / "kmodels.yaml").write_bytes(data)
    with quick():
        return kmenv("-C", tmp_path, "lock", "--offline")


def assert_one_located_line(result: Result, *words: str) -> str:
    """Exit 2, one ``file:line:col`` error line and a hint, no traceback, a few hundred bytes at most."""
    assert result.code == 2, result.err[:2000]
    lines = result.err.splitlines()
    assert LOCATED.match(lines[0]), lines[0][:500]
    assert lines[1].startswith("hint: ") and len(lines) == 2, lines
    assert len(result.err) < 1000 and "Traceback" not in result.err and "unexpected" not in result.err
    for word in words:
        assert word in lines[0]
    return lines[0]


def problem_of(text: str) -> str:
    with quick(), pytest.raises(SpecError) as caught:
        parse_spec(text)
    error = caught.value
    assert len(error.problems) == 1 and error.problems[0].line is not None and error.problems[0].column is not None
    assert error.hint
    return error.message


# --- the cases of the issue, through the CLI ------------------------------------------------------------------------


def test_the_billion_laughs_is_refused_at_the_alias_past_the_budget(kmenv: Runner, tmp_path: Path) -> None:
    line = assert_one_located_line(lock(kmenv, tmp_path, laughs(9, 10).encode()), "aliases expand to more than")
    assert line.endswith(f"kmodels.yaml:6:10: aliases expand to more than {MAX_ALIAS_NODES} values")


def test_a_small_seven_level_alias_bomb_is_refused(kmenv: Runner, tmp_path: Path) -> None:
    assert_one_located_line(lock(kmenv, tmp_path, laughs(7, 10).encode()), "aliases expand")


def test_ten_megabytes_of_comments_are_refused_at_the_size_cap(kmenv: Runner, tmp_path: Path) -> None:
    data = HEAD.encode() + b"  m: a/b\n" + (b"# " + b"x" * 77 + b"\n") * (10 * 1024 * 1024 // 80)
    assert_one_located_line(lock(kmenv, tmp_path, data), "larger than 1 MiB")


def test_ten_megabytes_of_aliases_are_refused_at_the_size_cap(kmenv: Runner, tmp_path: Path) -> None:
    data = b"version: 1\nx: &a x\ny: [" + b"*a, " * (10 * 1024 * 1024 // 4) + b"*a]\nmodels: {}\n"
    assert_one_located_line(lock(kmenv, tmp_path, data), "larger than 1 MiB")


def test_a_megabyte_of_aliases_within_the_size_cap_is_refused_by_the_alias_budget(
    kmenv: Runner, tmp_path: Path
) -> None:
    data = b"version: 1\nx: &a x\ny: [" + b"*a, " * (MAX_SPEC_BYTES // 5) + b"*a]\nmodels: {}\n"
    assert_one_located_line(lock(kmenv, tmp_path, data), "aliases expand")


@pytest.mark.parametrize(
    "nesting",
    [
        "  m: " + "[" * 5000 + "]" * 5000 + "\n",
        "  m: " + "{a: " * 5000 + "\n",
        "".join("  " * i + f"k{i}:\n" for i in range(1, 200)),
    ],
    ids=["flow", "unclosed-flow", "block"],
)
def test_deep_nesting_is_refused_past_the_depth_cap(kmenv: Runner, tmp_path: Path, nesting: str) -> None:
    assert_one_located_line(lock(kmenv, tmp_path, (HEAD + nesting).encode()), f"nested more than {MAX_DEPTH} levels")


def test_a_five_thousand_digit_number_is_refused_before_it_is_converted(kmenv: Runner, tmp_path: Path) -> None:
    data = ("version: 1\nx: " + "1" * 5000 + "\nmodels: {}\n").encode()
    line = assert_one_located_line(lock(kmenv, tmp_path, data), "a number of 5000 characters")
    assert ":2:4:" in line


def test_a_nul_byte_is_a_problem_at_its_place(kmenv: Runner, tmp_path: Path) -> None:
    line = assert_one_located_line(lock(kmenv, tmp_path, b"version: 1\nmodels:\n  m: a/b\x00c\n"), "U+0000")
    assert ":3:9:" in line


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nbase: &b {handle: a/b/c/d}\nmodels:\n  m:\n    <<: *b\n  n:\n    <<: *b\n",
        "version: 1\nother: &o {a: a/b/c/d}\nmodels:\n  <<: *o\n  m: a/b/c/d\n",
    ],
    ids=["in-an-entry", "between-models"],
)
def test_a_merge_key_is_refused(kmenv: Runner, tmp_path: Path, text: str) -> None:
    assert_one_located_line(lock(kmenv, tmp_path, text.encode()), "merge keys (<<) are not supported")


def test_a_two_megabyte_line_is_refused_without_quoting_it(kmenv: Runner, tmp_path: Path) -> None:
    assert_one_located_line(lock(kmenv, tmp_path, (HEAD + "  m: " + "x" * 2 * 1024 * 1024 + "\n").encode()))


def test_a_long_value_within_the_caps_is_quoted_cut_short(kmenv: Runner, tmp_path: Path) -> None:
    line = assert_one_located_line(lock(kmenv, tmp_path, (HEAD + "  m: " + "x" * 60_000 + "\n").encode()))
    assert "handle 'xxxx" in line and "…" in line


def test_a_scalar_past_the_scalar_cap_is_refused(kmenv: Runner, tmp_path: Path) -> None:
    data = (HEAD + "  m: " + "x" * (MAX_SCALAR_CHARS + 1) + "\n").encode()
    assert_one_located_line(lock(kmenv, tmp_path, data), f"a value of {MAX_SCALAR_CHARS + 1} characters")


def test_a_huge_kmodels_yaml_is_read_no_further_than_the_cap(kmenv: Runner, example: Path) -> None:
    assert kmenv("-C", example, "install").code == 0
    spec = example / "kmodels.yaml"
    spec.unlink()
    with spec.open("wb") as file:
        file.truncate(8 * 1024**3)  # 8 GiB of zero bytes, sparse: reading it all would take minutes and the memory
    for command in ("install", "lock"):  # install: the fast path reads it too, and leaves it to the full path
        with quick():
            result = kmenv("-C", example, command)
        assert_one_located_line(result, str(spec), "larger than 1 MiB")


def test_a_kmodels_yaml_that_is_a_device_is_no_project(kmenv: Runner, tmp_path: Path) -> None:
    (tmp_path / "kmodels.yaml").symlink_to("/dev/zero")
    with quick():
        result = kmenv("-C", tmp_path, "lock", "--offline")
    assert result.code == 2 and len(result.err) < 1000


def test_thousands_of_problems_print_the_first_ones_and_a_count(kmenv: Runner, tmp_path: Path) -> None:
    (tmp_path / "kmodels.yaml").write_text(HEAD + "".join(f"  m{i}: {i}\n" for i in range(5000)))
    with quick(60):
        result = kmenv("-C", tmp_path, "lock", "--offline")
    assert result.code == 2 and result.err.startswith("error: 5000 problems in ")
    lines = result.err.splitlines()
    assert len(lines) == 1 + MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == f"  ... and {5000 - MAX_PROBLEMS_SHOWN} more problems (fix these and run again to see them)"


# --- in process: more hostile cases, and the edits --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nx: &a [*a]\nmodels: {}\n", "refers to the node it is inside"),
        ("version: 1\nx: &a {k: *a}\nmodels: {}\n", "refers to the node it is inside"),
        ("version: 0x" + "f" * 5000 + "\nmodels: {}\n", "a number of 5002 characters"),
        ("version: 1." + "1" * 5000 + "\nmodels: {}\n", "a number of 5002 characters"),
        ("version: !!int '" + "1" * 5000 + "'\nmodels: {}\n", "a number of 5000 characters"),
        ("%YAML 1.1\n---\nversion: " + ":".join(["59"] * 40) + "\nmodels: {}\n", "a number of 119 characters"),
        (HEAD + "  m: !!omap [a: 1]\n", "the tag '!!omap' has no meaning"),
        (HEAD + "  m: !!python/object:os.system a\n", "has no meaning"),
        (HEAD + "  m: !local a/b/c/d\n", "the tag '!local' has no meaning"),
        (HEAD + "  ? [a, b]\n  : a/b/c/d\n", "a key must be text"),
        (HEAD + "  m: a\x07b\n", "U+0007"),
        (HEAD + "  m: *" + "a" * 60_000 + "\n", "undefined alias"),
        ("version: 1\nx: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\nmodels: {}\n", "nested more than"),
    ],
    ids=[
        "self-alias",
        "self-alias-map",
        "hex",
        "float",
        "tagged-int",
        "sexagesimal",
        "omap",
        "python-tag",
        "local-tag",
        "complex-key",
        "control-char",
        "long-alias-name",
        "depth-cap-plus-one",
    ],
)
def test_hostile_yaml_is_one_located_problem(text: str, message: str) -> None:
    headline = problem_of(text)
    assert message in headline and len(headline) <= MAX_TEXT_CHARS + 100


def test_nesting_at_the_depth_cap_is_read() -> None:
    with pytest.raises(SpecError, match="unknown key 'x'"):
        parse_spec("version: 1\nx: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\nmodels: {}\n")


def test_a_few_aliases_are_still_read() -> None:
    text = "version: 1\nmodels:\n  a: &h owner/model/pyTorch/v1\n  b: {handle: owner/other/pyTorch/v1}\n"
    text += "policy:\n  licenses:\n    allow: &ids [MIT, Apache-2.0]\n    deny: []\n"
    assert parse_spec(text).policy is not None


def test_a_big_legitimate_file_is_read() -> None:
    lines = ["version: 1", "models:"]
    for i in range(3000):
        lines += [f"  m{i}:", f"    handle: owner{i}/model-{i}/transformers/v{i}", '    version: ">=2"  # why']
    text = "\n".join(lines) + "\n"
    assert len(text.encode()) < MAX_SPEC_BYTES
    with quick(60):
        assert len(parse_spec(text).models) == 3000


def test_the_size_cap_holds_for_bytes_and_for_text() -> None:
    with pytest.raises(SpecError, match=r"kmodels.yaml:1:\d+: the file goes on past this byte"):
        decode_spec(b"#" * (MAX_SPEC_BYTES + 1))
    with pytest.raises(SpecError, match="the file goes on past this character"):
        parse_spec("#" * (MAX_SPEC_BYTES + 1))
    assert decode_spec(b"#" * MAX_SPEC_BYTES)  # exactly at the cap is fine


def test_edits_are_bounded_like_parsing() -> None:
    with quick(), pytest.raises(SpecError, match="aliases expand"):
        add_model(laughs(9, 10), "m", "owner/model")
    with quick(), pytest.raises(SpecError, match="merge keys"):
        add_model("version: 1\nb: &b {handle: a/b}\nmodels:\n  m:\n    <<: *b\n", "n", "owner/model")


def test_a_number_at_the_digit_cap_is_read() -> None:
    text = "version: " + "0" * (MAX_NUMBER_CHARS - 1) + "1\nmodels: {}\n"
    assert parse_spec(text).version == 1
    with pytest.raises(SpecError, match=f"a number of {MAX_NUMBER_CHARS + 1} characters"):
        parse_spec("version: " + "0" * MAX_NUMBER_CHARS + "1\nmodels: {}\n")
