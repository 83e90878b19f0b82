"""The two answers the command line gives before it builds its parser: ``--version`` and ``install`` with nothing to do.

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
from the full path's. The no-op itself is :mod:`kmenv.environment.fastpath`'s; when it says no, the bytes it read
are handed on.
"""

from __future__ import annotations

from kmenv._version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["answer"]

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


def _install_shape(argv: Sequence[str]) -> tuple[str | None, bool] | None:
    """``(the -C value or None, quiet)`` when ``argv`` is a plain install this module may answer, else None."""
    command: str | None = None
    project: str | None = None
    quiet = False
    install_flag = False
    index = 0
    while index < len(argv):
        arg = argv[index]
        option, eq, inline = arg.partition("=")
        if arg in _FLAGS:
            quiet = quiet or arg in _QUIET
        elif option == "--color" and (eq or index + 1 < len(argv)):
            if not eq:
                index += 1
            if (inline if eq else argv[index]) not in _COLORS:
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
                if project is not None:
                    return None
                project = value
        elif arg in _COMMANDS and command is None:
            command = arg
        elif arg in _INSTALL_FLAGS and command is not None and not install_flag:
            install_flag = True
        else:
            return None
        index += 1
    if command is None or not _switches_accepted(install_flag):
        return None
    return project, quiet


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
    project, quiet = shape
    from kmenv.environment.fastpath import locate_project, up_to_date

    root = locate_project(project, explicit=project is not None)
    if root is None:
        return None, None  # the full path explains that there is no project
    seen: dict[str, bytes | None] = {}
    generation = up_to_date(root, seen=seen)
    if generation is None:
        return None, seen
    if not quiet:
        print(f"Environment up to date (generation {generation}); nothing to do.")
    return 0, None
