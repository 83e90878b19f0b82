"""``kmenv completion``: scripts generated from the parser, checked by the shells themselves."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kmenv.cli.app import build_parser
from kmenv.cli.completion import tree


def script(shell: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "kmenv", "completion", shell], capture_output=True, text=True, timeout=60, check=True
    )
    return proc.stdout


def complete(bash_script: Path, words: list[str], cwd: Path | None = None) -> list[str]:
    """What bash offers for the last of ``words`` (``kmenv`` first), by calling the function as TAB would."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (
        f"source '{bash_script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _kmenv; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def bash_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "kmenv.bash"
    path.write_text(script("bash"))
    return path


def test_the_bash_script_is_valid_bash(bash_file: Path) -> None:
    proc = subprocess.run(["bash", "-n", str(bash_file)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_bash_completes_commands_options_and_choices(bash_file: Path) -> None:
    assert complete(bash_file, ["kmenv", "ins"]) == ["install"]
    assert set(complete(bash_file, ["kmenv", ""])) >= {"install", "sync", "run", "env", "doctor", "completion"}
    assert complete(bash_file, ["kmenv", "-C", "somewhere", "install", "--lo"]) == ["--locked"]
    assert complete(bash_file, ["kmenv", "install", "--link-mode", ""]) == ["auto", "reflink", "hardlink", "copy"]
    assert complete(bash_file, ["kmenv", "--color", "a"]) == ["auto", "always"]
    assert complete(bash_file, ["kmenv", "cache", "p"]) == ["prune"]
    assert complete(bash_file, ["kmenv", "completion", ""]) == ["bash", "zsh", "fish"]
    assert "--no-progress" in complete(bash_file, ["kmenv", "download", "--no-"])


def test_bash_completes_model_names_and_the_command_after_the_double_dash(bash_file: Path, tmp_path: Path) -> None:
    for name in ("gemma", "bert"):
        (tmp_path / ".kmenv" / "models" / name).mkdir(parents=True)
    (tmp_path / "kmodels.yaml").write_text("version: 1\n")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    assert complete(bash_file, ["kmenv", "path", "ge"], cwd=tmp_path) == ["gemma"]
    assert complete(bash_file, ["kmenv", "why", ""], cwd=tmp_path / "src" / "deep") == ["bert", "gemma"]
    assert "bash" in complete(bash_file, ["kmenv", "run", "--", "bas"])


def test_every_command_and_option_of_the_parser_is_in_each_script() -> None:
    root = tree(build_parser())
    texts = {shell: script(shell) for shell in ("bash", "zsh", "fish")}
    for child in root.children:
        for name in child.names:
            word = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
            assert all(word.search(text) for text in texts.values()), name
        for option in child.options:
            fish_spelling = f"-l {option[2:]}" if option.startswith("--") else f"-s {option[1:]}"
            assert option in texts["bash"] and fish_spelling in texts["fish"], (child.names, option)
    assert texts["zsh"].startswith("#compdef kmenv") and "bashcompinit" in texts["zsh"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_the_other_shells_parse_their_script_when_installed(shell: str, tmp_path: Path) -> None:
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed here; its script is checked by content only")
    path = tmp_path / f"kmenv.{shell}"
    path.write_text(script(shell))
    proc = subprocess.run([binary, "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_fish_completes_commands_and_choices(tmp_path: Path) -> None:
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed here")
    path = tmp_path / "kmenv.fish"
    path.write_text(script("fish"))

    def offered(line: str) -> list[str]:
        proc = subprocess.run(
            [fish, "--no-config", "-c", f"source {path}; complete -C '{line}'"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return [row.split("\t")[0] for row in proc.stdout.splitlines()]

    assert offered("kmenv ins") == ["install"]
    assert offered("kmenv install --link-mode ") == ["auto", "copy", "hardlink", "reflink"]
    assert offered("kmenv cache p") == ["prune"]
    assert "--locked" in offered("kmenv run --lo")


def test_zsh_registers_the_function_through_bashcompinit(tmp_path: Path) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed here")
    path = tmp_path / "_kmenv"
    path.write_text(script("zsh"))
    dump = tmp_path / "zcompdump"
    program = f"autoload -U +X compinit && compinit -u -d {dump} && source {path} && print -r -- $_comps[kmenv]"
    proc = subprocess.run([zsh, "-f", "-c", program], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "-F _kmenv" in proc.stdout
