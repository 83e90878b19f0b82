"""Command-line interface: parses arguments, calls the API, renders results."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: this runs on every command
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point.

    ``--version`` and ``install`` with nothing to do are answered before the parser is built (see
    :mod:`kmenv.cli.fast`); everything else goes to :func:`kmenv.cli.app.run`.
    """
    import sys

    from kmenv.cli.fast import answer

    code, seen = answer(sys.argv[1:] if argv is None else argv)
    if code is None:
        from kmenv.cli.app import run

        code = run(argv, read_ahead=seen)
    if argv is None:
        sys.exit(code)
    return code
