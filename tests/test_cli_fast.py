"""``kmenv --version`` and ``kmenv install`` with nothing to do are answered before the parser is built.

The subprocess tests run the entry point in a fresh interpreter and compare its ``sys.modules`` at the end with
a bare interpreter's in the same environment (startup itself, site hooks and coverage may import modules), so
only what kmenv added counts. The in-process tests check which argument shapes the early answer takes and that
every other shape gets the full path's answer.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Runner

from kmenv._version import __version__
from kmenv.cli import app, fast
from kmenv.cli import main as entry_point

NOT_ON_THE_FAST_PATH = (
    "kmenv.errors",
    "dataclasses",
    "inspect",
    "argparse",
    "pydantic",
    "requests",
    "rich",
    "ruamel",
    "resolvelib",
    "packaging",
    "platformdirs",
    "json",  # loads re, enum and functools: two thirds of an interpreter's start
    "re",
)
NOTHING_TO_DO = "Environment up to date (generation 1); nothing to do."


def modules_of(code: str) -> tuple[str, set[str]]:
    """What ``code`` prints on stdout, and the modules loaded when it ends (printed as a list on stderr).

    Printed with ``repr``, not :mod:`json`, which would load the very modules the no-op avoids.
    """
    script = f"import sys\n{code}\nprint(sorted(sys.modules), file=sys.stderr)"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    return proc.stdout, set(ast.literal_eval(proc.stderr.strip().splitlines()[-1]))


def added_by_kmenv(*argv: str) -> tuple[str, set[str]]:
    """stdout of ``kmenv ARGV`` run through the console script's entry point, and the modules it added."""
    _, bare = modules_of("")
    out, loaded = modules_of(f"code = __import__('kmenv.cli').cli.main({list(argv)!r})\nassert code == 0, code")
    return out, loaded - bare


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_ON_THE_FAST_PATH))


def test_the_no_op_install_imports_nothing_it_does_not_need(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    for argv in (("-C", str(example), "install"), ("sync", "-q", "--project", str(example))):
        out, added = added_by_kmenv(*argv)
        assert out.strip() == ("" if "-q" in argv else NOTHING_TO_DO)
        assert heavy(added) == [], argv
        assert "kmenv.cli.app" not in added and "pathlib" not in added, argv


def test_the_version_imports_nothing_it_does_not_need() -> None:
    out, added = added_by_kmenv("--version")
    assert out.strip() == f"kmenv {__version__}"
    assert heavy(added) == [] and "pathlib" not in added
    assert sorted(m for m in added if m.startswith("kmenv")) == [
        "kmenv",
        "kmenv._version",
        "kmenv.cli",
        "kmenv.cli.fast",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["install"],
        ["sync"],
        ["-q", "install"],
        ["install", "--quiet"],
        ["-C", "DIR", "install", "-v", "--no-color", "--offline"],
        ["--project=DIR", "sync", "--locked"],
        ["install", "--project", "DIR", "--frozen"],
        ["--cache-dir", "C", "install", "--cache-dir=C"],
    ],
)
def test_plain_install_shapes_are_answered_early(argv: list[str]) -> None:
    assert fast._install_shape(argv) is not None


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["lock"],
        ["install", "--json"],
        ["install", "--link-mode", "copy"],
        ["install", "--locked", "--frozen"],
        ["--locked", "install"],
        ["install", "install"],
        ["-qv", "install"],
        ["--qui", "install"],
        ["-C", "A", "install", "-C", "B"],
        ["-C", "-q", "install"],
        ["-C", "", "install"],
        ["install", "-C"],
        ["-C=DIR", "install"],
        ["install", "--help"],
        ["install", "--", "x"],
        ["-q", "--version"],
    ],
)
def test_every_other_shape_is_left_to_argparse(argv: list[str]) -> None:
    assert fast._install_shape(argv) is None


def test_the_early_answer_is_the_full_paths_answer(
    example: Path, kmenv: Runner, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kmenv("-C", example, "install").code == 0
    for argv in (["-C", str(example), "install"], ["-C", str(example), "-q", "sync"], ["--version"]):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:  # argparse exits for --version
            code = app.run(argv)
            raise SystemExit(code)
        full = capsys.readouterr().out
        assert exited.value.code == 0
        with monkeypatch.context() as patch:
            patch.setattr(app, "build_parser", lambda: pytest.fail("the parser was built"))
            assert entry_point(argv) == 0
        assert capsys.readouterr().out == full


def test_a_shape_the_early_answer_leaves_alone_still_gets_the_no_op(example: Path, kmenv: Runner) -> None:
    assert kmenv("-C", example, "install").code == 0
    result = kmenv("--proj", example, "install")  # an abbreviation argparse accepts
    assert result.code == 0 and "nothing to do" in result.out, result.err


def test_no_project_found_early_still_gets_the_full_paths_error(tmp_path: Path, kmenv: Runner) -> None:
    result = kmenv("-C", tmp_path, "install")
    assert result.code == 2 and "no kmodels.yaml" in result.err


@pytest.mark.parametrize("builtin", [True, False])
def test_the_fast_paths_sha256_is_hashlibs(builtin: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from kmenv.values import sha256

    if not builtin:  # an interpreter built without its own sha256: hashlib's is used
        monkeypatch.setitem(sys.modules, "_sha2", None)
        monkeypatch.setitem(sys.modules, "_sha256", None)
        monkeypatch.setattr(sha256, "_SHA256", sha256._implementation())  # chosen once, at import
    sha256_hex = sha256.sha256_hex
    for data in (b"", b"version: 1\n", bytes(range(256)) * 1000):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("generation", [1, 9, 10, 12345])
def test_the_no_ops_state_text_is_the_one_the_installer_writes(generation: int) -> None:
    from kmenv.environment._state_file import encode_state, plain_state_text, state_text

    spec, lock = "ab" * 32, "0f" * 32
    written = state_text(encode_state(generation, lock, spec, True, None))
    assert plain_state_text(generation, spec, lock) == written


@pytest.mark.parametrize(
    "change",
    [
        lambda state: state.update(fast_path=False),
        lambda state: state.update(groups=["default", "eval"]),
        lambda state: state.update(rolled_back_from=2),
        lambda state: state.update(format=2),
        lambda state: state.update(extra=1),
        lambda state: state.update(lock_sha256="00" * 32),
    ],
)
def test_a_state_other_than_a_plain_installs_goes_to_the_full_path(
    example: Path, kmenv: Runner, change: Callable[[dict[str, object]], None]
) -> None:
    from kmenv.environment._state_file import state_text
    from kmenv.environment.fastpath import up_to_date

    assert kmenv("-C", example, "install").code == 0
    assert up_to_date(example) == 1
    path = example / ".kmenv" / "state.json"
    state = json.loads(path.read_text())
    change(state)
    path.write_text(state_text(state))
    assert up_to_date(example) is None


def test_an_environment_pointing_elsewhere_goes_to_the_full_path(example: Path, kmenv: Runner) -> None:
    from kmenv.environment.fastpath import up_to_date

    assert kmenv("-C", example, "install").code == 0
    link = example / ".kmenv" / "models"
    for target in ("generations/01", "generations/2", "elsewhere/1", "generations/1/.."):
        link.unlink()
        link.symlink_to(target)
        assert up_to_date(example) is None, target
    link.unlink()
    link.symlink_to("generations/1")
    assert up_to_date(example) == 1
