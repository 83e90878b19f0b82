"""The README's console transcripts are run, and what they print must be what the README shows.

Every ```` ```console ```` block with ``$ `` lines is a transcript: each ``$`` line is a command, the lines after it
(up to the next ``$``) what it prints, stdout and stderr together in the order written. A block runs in one
``bash`` session (so ``cd``, ``eval`` and ``echo $?`` work as in a terminal) inside a sandbox that looks like the
README's machine: a copy of ``examples/`` at ``/work/examples``, ``HOME`` at ``/home/me`` (the store in
``~/.cache/kmenv``; installs hard-link, as on most machines), no credentials, and the Kaggle API answered by the
test emulator (``tests/kaggle_emulator.py``), so no block reaches the network. Console blocks without a ``$``
are commands to copy, not transcripts.

An HTML comment just before a block says how to run it (invisible on GitHub)::

    <!-- transcript
    cwd: .                          the folder the session starts in, from /work (default: examples/quickstart)
    setup: kmenv install -q         a command run first, unseen; it must succeed (repeatable)
    yaml: examples/kaggle-demo      write the README's nearest yaml block above as that folder's kmodels.yaml
    continue                        keep the previous block's sandbox (same files, store and ledger)
    skip: REASON                    not run (what it shows needs Kaggle itself, a real mount, ...)
    -->

A single-line form works too: ``<!-- transcript: skip: needs a real Kaggle account -->``. The output is compared
after :func:`normalise`, which blurs only what differs between two honest runs (the sandbox's temp folder,
clock times, speeds, free space); an expected line ``...`` stands for any number of lines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "kaggle"))  # the emulator's catalogue
from catalogue import populate
from kaggle_emulator import KaggleEmulator

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MARK = "@@kmenv-transcript@@"

#: What two honest runs print differently, and what each becomes on both sides of the comparison. Keep it short:
#: every rule here is output the test can no longer check.
NORMALISE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b20\d\d-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|\+00:00)?"), "YYYY-MM-DD hh:mm"),  # clock times
    (re.compile(r"\b\d+(\.\d+)? [KMGT]?i?B/s\b"), "N B/s"),  # speeds
    (re.compile(r"(free space:\s+)\d+(\.\d+)? [KMGT]?i?B"), r"\1N GiB"),  # the sandbox disk's free space
    (re.compile(r"pid \d+"), "pid N"),  # process ids
)

#: Progress and phase lines (stderr, shown as they happen): not compared, on either side, since a terminal
#: shows them only while they are true and their wording follows the progress display.
PROGRESS = re.compile(r"(resolving|linking|fetching \d+ files?|downloading \S+)…|\s+\d+ files?, \S+ \S+ to fetch")

#: A transcript runs on this machine: commands that would write outside the sandbox or install software are
#: refused (an absolute path other than /dev/null, a package installer).
ESCAPES = re.compile(r"(?:^|[\s='\"(<>])/(?!dev/null)[A-Za-z]|\b(?:pip|pip3|apt-get|sudo)\b")


@dataclass
class Transcript:
    """One console block: where it is, how to run it, and each command with the lines it should print."""

    line: int
    commands: list[tuple[str, list[str]]]
    cwd: str = "examples/quickstart"
    setup: list[str] = field(default_factory=list)
    yaml: tuple[str, str] | None = None  # (folder, kmodels.yaml text)
    carry: bool = False
    skip: str | None = None

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def _directives(comment: str, block: Transcript) -> None:
    for raw in comment.splitlines():
        text = raw.strip()
        if not text:
            continue
        key, _, value = text.partition(":")
        key, value = key.strip(), value.strip()
        if key == "skip" and value:
            block.skip = value
        elif key == "cwd" and value:
            block.cwd = value
        elif key == "setup" and value:
            block.setup.append(value)
        elif key == "yaml" and value:
            block.yaml = (value, "")
        elif key == "continue" and not value:
            block.carry = True
        else:
            raise AssertionError(f"README.md:{block.line}: unknown transcript directive {text!r}")


def parse_readme(text: str) -> tuple[list[Transcript], int]:
    """The transcripts of a README, and how many console blocks hold no ``$`` line (commands to copy)."""
    lines = text.split("\n")
    found: list[Transcript] = []
    plain = 0
    comment: str | None = None
    last_yaml = ""
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("<!-- transcript"):
            start = i
            body = stripped.removeprefix("<!-- transcript").removeprefix(":")
            while "-->" not in body and i + 1 < len(lines):
                i += 1
                body += "\n" + lines[i].strip()
            comment = body.split("-->")[0]
            if not lines[i + 1].strip().lstrip("`").startswith("console") or not lines[i + 1].strip().startswith("```"):
                raise AssertionError(f"README.md:{start + 1}: a transcript comment must come just before ```console")
            i += 1
            continue
        if stripped.startswith("```"):
            indent = len(lines[i]) - len(lines[i].lstrip())
            fence = "`" * (len(stripped) - len(stripped.lstrip("`")))  # ```` holds output that shows ```
            kind = stripped[len(fence) :].strip()
            end = i + 1
            while lines[end].strip() != fence:
                end += 1
            content = [line[indent:] for line in lines[i + 1 : end]]
            if kind == "yaml":
                last_yaml = "\n".join(content) + "\n"
            elif kind == "console":
                block = Transcript(line=i + 1, commands=[])
                for line in content:
                    if line.startswith("$ "):
                        block.commands.append((line[2:], []))
                    elif block.commands:
                        block.commands[-1][1].append(line)
                if comment is not None:
                    _directives(comment, block)
                    if block.yaml is not None:
                        block.yaml = (block.yaml[0], last_yaml)
                if block.commands:
                    found.append(block)
                else:
                    assert comment is None, f"README.md:{i + 1}: a transcript comment before a block without `$`"
                    plain += 1
            comment = None
            i = end + 1
            continue
        i += 1
    return found, plain


TRANSCRIPTS, PLAIN_BLOCKS = parse_readme(README.read_text(encoding="utf-8"))


def normalise(text: str, root: Path | None = None) -> list[str]:
    """Lines as compared: the sandbox's temp folder dropped (so paths read /work/..., /home/me/...), the
    :data:`NORMALISE` rules applied, trailing blanks and blank trailing lines removed."""
    if root is not None:
        text = text.replace(str(root), "")
    for pattern, replacement in NORMALISE:
        text = pattern.sub(replacement, text)
    lines = [line.rstrip() for line in text.split("\n") if not PROGRESS.fullmatch(line.rstrip())]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; an expected ``...`` line matches any run of lines (none included)."""
    if not expected:
        return not actual
    if expected[0].strip() in ("...", "…"):
        return any(matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


@pytest.fixture(scope="module")
def kaggle() -> Iterator[KaggleEmulator]:
    with KaggleEmulator() as emu:
        yield populate(emu)


class Sandbox:
    """The README's machine under one temp folder: ``/work/examples`` and ``/home/me``."""

    def __init__(self, root: Path, kaggle_url: str) -> None:
        self.root = root
        work = root / "work"
        shutil.copytree(REPO / "examples", work / "examples", ignore=shutil.ignore_patterns(".kmenv", "__pycache__"))
        home = root / "home" / "me"
        (home / ".local" / "share" / "bash-completion" / "completions").mkdir(parents=True)
        (home / ".config" / "fish" / "completions").mkdir(parents=True)
        bin_dir = root / "bin"
        bin_dir.mkdir()
        shim = bin_dir / "kmenv"  # the console script, whichever way kmenv was installed
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kmenv "$@"\n')
        shim.chmod(0o755)
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("KMENV_", "KAGGLE", "NO_COLOR", "FORCE_"))}
        self.env = {
            **keep,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "KMENV_CACHE_DIR": str(home / ".cache" / "kmenv"),
            "KMENV_DATA_DIR": str(home / ".local" / "share" / "kmenv"),
            "KMENV_CONFIG_DIR": str(home / ".config" / "kmenv"),
            "KAGGLEHUB_CACHE": str(home / ".cache" / "kagglehub"),
            "KMENV_KAGGLE_URL": kaggle_url,
            "KMENV_LINK_MODE": "hardlink",  # what every sandbox filesystem can do; sizes `gc` shows depend on it
            "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as written
            "COLUMNS": "200",
            "TERM": "dumb",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        self.env.pop("PYTHONPATH", None)
        self.env["PYTHONPATH"] = str(REPO)

    def run(self, block: Transcript) -> list[str]:
        """Run the block's commands in one bash session; what each printed, in order."""
        start = self.root / "work" / block.cwd
        script = [f"cd {_quote(str(start))} || exit 99"]
        log = _quote(str(self.root / "setup.log"))
        for n, command in enumerate(block.setup):
            script.append(f"{{ {command}\n}} >{log} 2>&1 || {{ echo 'setup {n + 1} failed:'; cat {log}; exit 98; }}")
        script.append("__rc=0")
        for n, (command, _) in enumerate(block.commands):
            script.append(f"printf '\\n{MARK}{n}\\n'; (exit $__rc)")
            script.append(f"{{ {command}\n}} 2>&1; __rc=$?")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        head, *parts = proc.stdout.split(f"\n{MARK}")
        assert not head.strip() and not proc.stderr, f"{block.id}: setup failed:\n{head}{proc.stderr}"
        assert len(parts) == len(block.commands), f"{block.id}: the session stopped early:\n{proc.stdout}"
        return [part.split("\n", 1)[1] if "\n" in part else "" for part in parts]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def chains(blocks: list[Transcript]) -> list[list[Transcript]]:
    """The blocks in groups that share a sandbox: a block and the ``continue`` blocks after it (skipped blocks
    between them run nowhere, so they are left out of the chain)."""
    groups: list[list[Transcript]] = []
    current: list[Transcript] | None = None
    for block in blocks:
        if block.skip:
            groups.append([block])
        elif block.carry:
            assert current is not None, f"{block.id}: `continue` needs a block before it"
            current.append(block)
        else:
            current = [block]
            groups.append(current)
    return groups


@dataclass
class Run:
    """What one block printed (per command), and the sandbox root to blur; or why it could not run."""

    outputs: list[str] = field(default_factory=list)
    root: Path | None = None
    error: str | None = None


def _run_chain(chain: list[Transcript], root: Path, kaggle_url: str) -> dict[int, Run]:
    sandbox = Sandbox(root, kaggle_url)
    runs: dict[int, Run] = {}
    for block in chain:
        escapes = [c for c in [*block.setup, *(c for c, _ in block.commands)] if ESCAPES.search(c)]
        if escapes:
            runs[block.line] = Run(error=f"{block.id}: {escapes[0]!r} would reach outside the sandbox; mark it skip")
            continue
        if block.yaml is not None:
            folder, text = block.yaml
            if not text:
                runs[block.line] = Run(error=f"{block.id}: `yaml:` needs a yaml block above it")
                continue
            (root / "work" / folder).mkdir(parents=True, exist_ok=True)
            (root / "work" / folder / "kmodels.yaml").write_text(text)
        try:
            runs[block.line] = Run(sandbox.run(block), root)
        except AssertionError as exc:
            runs[block.line] = Run(error=str(exc))
    return runs


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, kaggle: KaggleEmulator, tmp_path_factory: pytest.TempPathFactory
) -> dict[int, Run]:
    """Every selected transcript run, chains side by side (each waits on kmenv's start-up, not the CPU)."""
    selected: set[int] = set()
    for item in request.session.items:  # only what this session runs (`-k` picks a few)
        block = getattr(getattr(item, "callspec", None), "params", {}).get("block")
        if isinstance(block, Transcript):
            selected.add(block.line)
    todo = [c for c in chains(TRANSCRIPTS) if not c[0].skip and any(b.line in selected for b in c)]
    results: dict[int, Run] = {}
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="readme") as pool:
        futures = [pool.submit(_run_chain, c, tmp_path_factory.mktemp("readme"), kaggle.url) for c in todo]
        for future in futures:
            results.update(future.result())
    return results


def test_the_readme_has_transcripts_and_most_of_them_run() -> None:
    skipped = [t for t in TRANSCRIPTS if t.skip]
    assert len(TRANSCRIPTS) >= 40, "the README lost its console transcripts, or the parser stopped finding them"
    assert len(skipped) * 4 <= len(TRANSCRIPTS), f"more than a quarter of the transcripts are skipped: {skipped}"
    assert PLAIN_BLOCKS <= 10, "console blocks without `$` are commands to copy; transcripts need `$ `"
    for t in skipped:
        assert len(t.skip or "") >= 10, f"{t.id}: a skipped transcript names its reason"


def test_the_parser_finds_commands_outputs_and_directives() -> None:
    text = (
        "```yaml\nversion: 1\n```\n"
        "<!-- transcript\ncwd: examples/quickstart\nsetup: kmenv install -q\nyaml: x\n-->\n"
        "```console\n$ kmenv list\nname\n$ echo $?\n0\n```\n"
        "```console\npip install .\n```\n"
        "<!-- transcript: skip: needs a real Kaggle account -->\n```console\n$ kmenv whoami\nalice\n```\n"
    )
    blocks, plain = parse_readme(text)
    assert plain == 1 and [b.line for b in blocks] == [9, 19]
    first, second = blocks
    assert first.commands == [("kmenv list", ["name"]), ("echo $?", ["0"])]
    assert (first.cwd, first.setup, first.yaml) == ("examples/quickstart", ["kmenv install -q"], ("x", "version: 1\n"))
    assert second.skip == "needs a real Kaggle account" and second.commands == [("kmenv whoami", ["alice"])]
    a, b, c = (Transcript(line=n, commands=[]) for n in (1, 2, 3))
    b.skip, c.carry = "needs a real Kaggle account", True
    assert chains([a, b, c]) == [[a, c], [b]]  # a skipped block does not break a chain
    with pytest.raises(AssertionError, match="unknown transcript directive"):
        parse_readme("<!-- transcript: skpi: typo -->\n```console\n$ true\n```\n")


def test_normalising_blurs_only_what_runs_differ_in(tmp_path: Path) -> None:
    actual = f"{tmp_path}/work/x 2026-12-02 01:02  3.1 MiB/s\nfree space:   77.8 GiB\n\n"
    assert normalise(actual, tmp_path) == ["/work/x YYYY-MM-DD hh:mm  N B/s", "free space:   N GiB"]
    assert normalise("17 files, 17.4 KiB") == ["17 files, 17.4 KiB"]  # sizes, counts and dates alone stay
    assert normalise("updated 2024-06-01") == ["updated 2024-06-01"]
    assert normalise("fetching 17 files…\n  17 files, 17.4 KiB to fetch\nlinking…\nInstalled") == ["Installed"]
    assert ESCAPES.search("kmenv cache export /mnt/x") and ESCAPES.search("pip install -r r.txt")
    assert not ESCAPES.search("kmenv why iris 2>/dev/null") and not ESCAPES.search("sed -i 's/a@<2/b/' kmodels.yaml")
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"]) and matches(["a", "...", "b"], ["a", "b"])
    assert not matches(["a", "b"], ["a", "b", "c"]) and not matches(["a", "...", "d"], ["a", "b"])


@pytest.mark.parametrize("block", TRANSCRIPTS, ids=[t.id for t in TRANSCRIPTS])
def test_transcript(block: Transcript, runs: dict[int, Run]) -> None:
    if block.skip:
        pytest.skip(f"{block.id}: {block.skip}")
    run = runs[block.line]
    assert run.error is None, run.error
    problems = []
    for (command, expected), output in zip(block.commands, run.outputs, strict=True):
        want, got = normalise("\n".join(expected)), normalise(output, run.root)
        if not matches(want, got):
            problems.append(f"$ {command}\n--- README\n" + "\n".join(want) + "\n--- actual\n" + "\n".join(got))
    assert not problems, f"{block.id}: the README shows other output than kmenv prints:\n\n" + "\n\n".join(problems)
