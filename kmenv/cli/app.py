"""The ``kmenv`` command: global options, dispatch to one module per command, error rendering.

Command modules import nothing heavy at module level, so building the parser is cheap; ``--version`` and the
no-op ``install`` in their plain shapes are answered before it is built (:mod:`kmenv.cli.fast`), and in any
other shape after parsing, before any of the heavy stack is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from kmenv._version import __version__
from kmenv.cli.commands import COMMANDS
from kmenv.cli.ui import COLOR_CHOICES, UI
from kmenv.errors import EXIT_FAILURE, EXIT_INTERRUPTED, KmenvError, UsageError
from kmenv.fs.failures import is_storage_error, storage_error

__all__ = ["build_parser", "main", "run"]

EPILOG = """exit codes: 0 ok · 1 unexpected failure · 2 usage or input error · 3 no resolution ·
4 licence policy violated · 5 registry or network error · 6 integrity problem · 7 disk full or not writable ·
8 doctor found a problem · 9 outdated --exit-code found an update · 130 interrupted; `kmenv run` exits with its
command's code (126, 127: cannot execute, not found). With --json a failure is also a JSON document on stdout."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line plus a hint, with exit code 2.

    ``json_errors`` is set by :func:`run` when the command line asks for JSON, so a usage error is a JSON
    document on stdout too (argparse fails before it knows the command's options).
    """

    json_errors = False

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        problem = UsageError(message, hint=f"see `{self.prog} --help`")
        UI(color="never", json_output=type(self).json_errors).error(problem)
        raise SystemExit(problem.exit_code)


def _asks_for_json(argv: Sequence[str]) -> bool:
    """Whether ``argv`` asks for a JSON document (``--json``, ``check --format json``) before any ``--``."""
    words = list(argv)
    words = words[: words.index("--")] if "--" in words else words
    pairs = zip(words, [*words[1:], ""], strict=True)
    return "--json" in words or "--format=json" in words or any(a == "--format" and b == "json" for a, b in pairs)


def _json_on_stdout(args: argparse.Namespace) -> bool:
    """``check --format json`` without ``--output``: stdout holds a JSON document as under ``--json``."""
    return args.command == "check" and getattr(args, "format", None) == "json" and not getattr(args, "output", None)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kmenv",
        description="Reproducible environments of Kaggle Models: declare, resolve, lock, install.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"kmenv {__version__}")
    _add_global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMANDS:
        module.register(sub)
    _accept_global_options_everywhere(parser)
    parser.set_defaults(parser=parser)  # for commands that describe the command line itself (completion)
    return parser


_GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, object]], ...] = (
    (
        ("-C", "--project"),
        {"metavar": "DIR", "default": None, "help": "project folder (default: nearest kmodels.yaml upward)"},
    ),
    (("-q", "--quiet"), {"action": "store_true", "default": False, "help": "print results and errors only"}),
    (("-v", "--verbose"), {"action": "store_true", "default": False, "help": "more detail; tracebacks on errors"}),
    (("--offline",), {"action": "store_true", "default": None, "help": "never touch the network (KMENV_OFFLINE=1)"}),
    (("--cache-dir",), {"metavar": "DIR", "default": None, "help": "store and metadata cache (KMENV_CACHE_DIR)"}),
    (
        ("--color",),
        {
            "choices": COLOR_CHOICES,
            "default": "auto",
            "help": "colour output: auto (terminal; NO_COLOR, FORCE_COLOR, TERM=dumb), always or never",
        },
    ),
    (("--no-color",), {"action": "store_true", "default": False, "help": "the same as --color never"}),
    (
        ("--no-progress",),
        {"action": "store_true", "default": False, "help": "no download bars or periodic totals (KMENV_NO_PROGRESS)"},
    ),
)


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every command shares.

    On a command (``defaults=False``) they leave values given before the command alone, and an
    option the command defines itself (``usage --project``) keeps the command's meaning.
    """
    taken = parser._option_string_actions
    for flags, options in _GLOBAL_OPTIONS:
        if any(flag in taken for flag in flags):
            continue
        kwargs = dict(options) if defaults else {**options, "default": argparse.SUPPRESS}
        parser.add_argument(*flags, **kwargs)  # type: ignore[arg-type]


def _accept_global_options_everywhere(parser: argparse.ArgumentParser) -> None:
    """Let ``kmenv install -q`` mean ``kmenv -q install``, as users of other package managers expect."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _add_global_options(child, defaults=False)
                _accept_global_options_everywhere(child)


def _fast_noop(args: argparse.Namespace, read_ahead: dict[str, bytes | None] | None) -> int | None:
    """Answer ``install`` with nothing to do before importing the heavy stack (see kmenv.environment.fastpath).

    ``read_ahead`` is what :mod:`kmenv.cli.fast` read when it asked the same question already (None: it did
    not ask). The project files read are left in ``args.read_ahead`` for the command to start from.
    """
    if read_ahead is not None:
        args.read_ahead = {Path(path): data for path, data in read_ahead.items()}
        return None
    if args.command not in ("install", "sync") or getattr(args, "json", False) or getattr(args, "link_mode", None):
        return None
    if any(getattr(args, flag, None) for flag in ("group", "only_group", "no_group", "all_groups")):
        return None  # the no-op check knows plain installs only: group flags may change what the generation holds
    from kmenv.environment.fastpath import locate_project, up_to_date

    root = locate_project(args.project, explicit=args.project is not None)
    if root is None:
        return None
    seen: dict[str, bytes | None] = {}
    generation = up_to_date(root, seen=seen)
    if generation is None:
        args.read_ahead = {Path(path): data for path, data in seen.items()}
        return None
    if not args.quiet:
        print(f"Environment up to date (generation {generation}); nothing to do.")
    return 0


def _read_switches(args: argparse.Namespace, ui: UI) -> None:
    """Fold ``KMENV_NO_PROGRESS``/``KMENV_LOCKED``/``KMENV_FROZEN`` into the run; a bad value is exit 2 for every
    command (a typo must not pass silently where it is ignored today and used tomorrow)."""
    from kmenv.config import env_switch, install_mode

    ui.progress = not (args.no_progress or env_switch("KMENV_NO_PROGRESS"))
    for name in ("KMENV_LOCKED", "KMENV_FROZEN"):
        env_switch(name)  # checked here even for commands that do not install
    if hasattr(args, "locked"):  # the commands that install
        args.locked, args.frozen = install_mode(locked=args.locked, frozen=args.frozen)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one kmenv command and return its exit code (``kmenv.cli.main`` without the exit)."""
    from kmenv.cli.fast import answer

    code, seen = answer(sys.argv[1:] if argv is None else argv)
    return code if code is not None else run(argv, read_ahead=seen)


def run(argv: Sequence[str] | None = None, *, read_ahead: dict[str, bytes | None] | None = None) -> int:
    """Parse ``argv`` and run the command; ``read_ahead`` is what :func:`kmenv.cli.fast.answer` read, if it asked."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    _Parser.json_errors = _asks_for_json(words)
    try:
        args = parser.parse_args(words)
    finally:
        _Parser.json_errors = False
    ui = UI(
        quiet=args.quiet,
        verbose=args.verbose,
        color="never" if args.no_color else args.color,
        json_output=bool(getattr(args, "json", False)) or _json_on_stdout(args),
    )
    try:
        _read_switches(args, ui)
        noop = _fast_noop(args, read_ahead)
        if noop is not None:
            return noop
        code: int = args.run(args, ui)
        return code
    except KmenvError as exc:
        if args.verbose:
            traceback.print_exc()
        ui.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        from kmenv.cli.fast import INTERRUPTED

        ui.error(KmenvError(INTERRUPTED), code=EXIT_INTERRUPTED, prefix="")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:  # the last line of defence: never a bare traceback unless asked
        if args.verbose:
            traceback.print_exc()
        if isinstance(exc, OSError) and is_storage_error(exc):  # a refused write no edge worded itself
            refused = storage_error(exc)
            ui.error(refused)
            return refused.exit_code
        hint = "rerun with -v for the traceback, and please report it"
        failure = KmenvError(f"unexpected failure: {type(exc).__name__}: {exc}", hint=hint)
        ui.error(failure, code=EXIT_FAILURE)
        return EXIT_FAILURE
