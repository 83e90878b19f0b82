"""Command-line interface: parses arguments, calls the API, renders results."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    import sys

    from kmenv.cli.app import main as run

    code = run(argv)
    if argv is None:
        sys.exit(code)
    return code
