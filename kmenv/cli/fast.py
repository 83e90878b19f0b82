"""What the command line answers before it builds its parser: ``--version``, and ``install`` with nothing to do or warm.

Building the parser imports every command module and argparse, and the full path loads ``kmenv.errors`` and the
UI; together they cost several times what starting Python does. So the entry point first looks at the
arguments itself, recognising only the exact shapes it can answer:

* ``kmenv --version``, alone;
* ``kmenv [GLOBAL...] install|sync [GLOBAL...] [--locked|--frozen]``, where GLOBAL is ``-q``/``--quiet``,
  ``-v``/``--verbose``, ``--offline``, ``--no-color``, ``--no-progress``, ``--color auto|always|never``,
  ``-C``/``--project DIR`` (once) or ``--cache-dir DIR`` (also ``--opt=DIR``); none of them changes what a no-op
  prints.

``KMENV_LOCKED``/``KMENV_FROZEN`` ask what ``--locked``/``--frozen`` ask, and an environment that is up to date
satisfies both (it was installed from a lock that was fresh for these exact files). A value the full path would
refuse (``KMENV_LOCKED=maybe``, both variables on, a bad ``KMENV_NO_PROGRESS``) is left to it, so the error is
the same on both paths.

Anything else (another option, an abbreviation, a bundled ``-qv``, ``--json``, ``--link-mode``, a group flag such
as ``--group eval``, ``--help``, a value that looks like an option) is left to argparse, so the answer never differs
from the full path's. The no-op itself is :mod:`kmenv.environment.fastpath`'s. When it says no, the same shapes
are offered to the warm install (:mod:`kmenv.actions.install_warm`: a new environment from a filled store, which
needs the UI and the settings but not the lock model, the network stack or the parser); when that says no too, the
bytes read on the way are handed on to the full path.
"""

from __future__ import annotations

import sys

from kmenv._version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["INTERRUPTED", "answer"]

#: What an install stopped by Ctrl-C says, on every path.
INTERRUPTED = "interrupted; what was complete stays complete"

_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--offline", "--no-color", "--no-progress"})
_QUIET = frozenset({"-q", "--quiet"})
_PROJECT = ("-C", "--project")
_WITH_VALUE = frozenset({*_PROJECT, "--cache-dir"})
_COMMANDS = frozenset({"install", "sync"})
_INSTALL_FLAGS = frozenset({"--locked", "--frozen"})  # mutually exclusive: at most one
_COLORS = frozenset({"auto", "always", "never"})
# kmenv.config.env_switch's words (checked equal by a test): importing kmenv.config here would cost the fast path.
_ON = frozenset({"1", "true", "yes"})
_SWITCH_WORDS = _ON | {"", "0", "false", "no"}


def _switches_accepted(install_flag: bool) -> bool:
    """False when a ``KMENV_*`` switch says something the full path refuses (it then explains)."""
    import os  # loaded by the interpreter's start already

    words = [os.environ.get(name, "").strip().lower() for name in ("KMENV_LOCKED", "KMENV_FROZEN", "KMENV_NO_PROGRESS")]
    if any(word not in _SWITCH_WORDS for word in words):
        return False
    return install_flag or not (words[0] in _ON and words[1] in _ON)


class _Shape:
    """The options of an install this module may answer, as argparse would read them."""

    def __init__(self) -> None:
        self.project: str | None = None
        self.cache_dir: str | None = None
        self.quiet = self.verbose = self.offline = self.no_color = False
        self.color = "auto"
        self.flag: str | None = None  # --locked or --frozen


def _install_shape(argv: Sequence[str]) -> _Shape | None:
    """The options when ``argv`` is a plain install this module may answer, else None."""
    shape = _Shape()
    command: str | None = None
    index = 0
    while index < len(argv):
        arg = argv[index]
        option, eq, inline = arg.partition("=")
        if arg in _FLAGS:
            shape.quiet = shape.quiet or arg in _QUIET
            shape.verbose = shape.verbose or arg in ("-v", "--verbose")
            shape.offline = shape.offline or arg == "--offline"
            shape.no_color = shape.no_color or arg == "--no-color"
        elif option == "--color" and (eq or index + 1 < len(argv)):
            if not eq:
                index += 1
            shape.color = inline if eq else argv[index]
            if shape.color not in _COLORS:
                return None
        elif arg in _WITH_VALUE or (eq and option in _WITH_VALUE and option.startswith("--")):
            if eq:
                value = inline
            elif index + 1 < len(argv):
                index += 1
                value = argv[index]
            else:
                return None
            if not value or value.startswith("-"):
                return None
            if option in _PROJECT:
                if shape.project is not None:
                    return None
                shape.project = value
            else:
                shape.cache_dir = value  # given twice, the last one counts, as in argparse
        elif arg in _COMMANDS and command is None:
            command = arg
        elif arg in _INSTALL_FLAGS and command is not None and shape.flag is None:
            shape.flag = arg
        else:
            return None
        index += 1
    if command is None or not _switches_accepted(shape.flag is not None):
        return None
    return shape


def answer(argv: Sequence[str]) -> tuple[int | None, dict[str, bytes | None] | None]:
    """``(exit code, None)`` when answered here; else ``(None, seen)`` for the full path.

    ``seen`` is None when nothing was looked at, else the project files read on the way (path → bytes, None:
    absent), for the full path to start from instead of reading them again.
    """
    if list(argv) == ["--version"]:
        print(f"kmenv {__version__}")
        return 0, None
    shape = _install_shape(argv)
    if shape is None:
        return None, None
    from kmenv.environment.fastpath import locate_project, up_to_date

    root = locate_project(shape.project, explicit=shape.project is not None)
    if root is None:
        return None, None  # the full path explains that there is no project
    seen: dict[str, bytes | None] = {}
    generation = up_to_date(root, seen=seen)
    if generation is None:
        return _warm(shape, root, seen), seen
    if not shape.quiet:
        print(f"Environment up to date (generation {generation}); nothing to do.")
    return 0, None


def _warm(shape: _Shape, root: str, seen: dict[str, bytes | None]) -> int | None:
    """Exit code 0 when :mod:`kmenv.actions.install_warm` installed the project; None leaves it to the full path.

    Any trouble on the way (a setting the full path refuses, a full disk) is left to the full path too, which then
    says what is wrong in its own words; what this path did by then is what the full path would have done first.
    """
    from kmenv.cli.ui import UI

    ui = UI(quiet=shape.quiet, verbose=shape.verbose, color="never" if shape.no_color else shape.color)
    try:
        from kmenv.actions.install_warm import warm_install
        from kmenv.actions.project import Project
        from kmenv.config import Settings, install_mode

        _locked, frozen = install_mode(locked=shape.flag == "--locked", frozen=shape.flag == "--frozen")
        settings = Settings.load(cache_dir=shape.cache_dir, offline=True if shape.offline else None)
        project = Project(root, settings=settings, warn=ui.warn, notice=ui.note)
        done = warm_install(project, frozen=frozen, seen=seen, phase=lambda text: ui.note(f"{text}…"))
    except KeyboardInterrupt:
        from kmenv.errors import EXIT_INTERRUPTED

        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        return None
    if done is None:
        return None
    from kmenv.cli.install_summary import installed_lines

    for warning in done.warnings:
        ui.warn(warning)
    for line in installed_lines(len(done.models), "", str(project.env_path), done.generation, cleanup=done.cleanup):
        ui.line(line)
    return 0
