"""Terminal output: plain lines, rich tables on demand, JSON for scripts, and error rendering.

rich is imported only when something is actually rendered with it, so commands that print a
line or two (and the no-op install) stay fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from kmenv.errors import KmenvError, clip_text

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["UI"]


class UI:
    """How this run talks: ``quiet`` silences progress and chatter, ``json`` reserves stdout for one document."""

    def __init__(
        self, *, quiet: bool = False, verbose: bool = False, color: bool = True, json_output: bool = False
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.color = color and "NO_COLOR" not in os.environ
        self.json = json_output
        self._console: Console | None = None
        self._err_console: Console | None = None

    # plain text -------------------------------------------------------------------------------
    def line(self, text: str = "") -> None:
        """A result line on stdout (suppressed in JSON mode, where stdout holds the document)."""
        if not self.json:
            print(text, file=sys.stdout, flush=True)

    def note(self, text: str) -> None:
        """Chatter about progress on stderr; silenced by ``-q``."""
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def detail(self, text: str) -> None:
        """Only with ``-v``."""
        if self.verbose and not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def warn(self, text: str) -> None:
        """Warnings survive ``-q``: they are about the result, not the progress."""
        print(self._style(f"warning: {text}", "yellow"), file=sys.stderr, flush=True)

    def emit_json(self, data: Any) -> None:
        json.dump(data, sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
        sys.stdout.write("\n")
        sys.stdout.flush()

    # rich -------------------------------------------------------------------------------------
    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(no_color=not self.color, highlight=False, soft_wrap=False)
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(stderr=True, no_color=not self.color, highlight=False)
        return self._err_console

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[str] = ()) -> None:
        """A table: rich on a terminal; plain aligned columns, never truncated, when piped."""
        if self.json:
            return
        if sys.stdout.isatty():
            from rich.table import Table

            table = Table(box=None, pad_edge=False, header_style="bold")
            for h in headers:
                table.add_column(h, justify="right" if h in right else "left")
            for row in rows:
                table.add_row(*row)
            self.console.print(table)
            return
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

        def fmt(cells: Sequence[str]) -> str:
            parts = [c.rjust(w) if h in right else c.ljust(w) for c, w, h in zip(cells, widths, headers, strict=True)]
            return "  ".join(parts).rstrip()

        print(fmt(headers), file=sys.stdout)
        for row in rows:
            print(fmt(row), file=sys.stdout)
        sys.stdout.flush()

    def stderr_is_tty(self) -> bool:
        return sys.stderr.isatty()

    # errors -----------------------------------------------------------------------------------
    def _style(self, text: str, color: str, stream: IO[str] = sys.stderr) -> str:
        if not self.color or not stream.isatty():
            return text
        codes = {"red": "31", "yellow": "33", "dim": "2", "bold": "1", "green": "32"}
        return f"\x1b[{codes[color]}m{text}\x1b[0m"

    def error(self, exc: KmenvError) -> None:
        """One line for the error, one per detail, one for the hint."""
        print(self._style(f"error: {clip_text(exc.message)}", "red"), file=sys.stderr)
        for item in exc.details():
            print(f"  {clip_text(item)}", file=sys.stderr)
        if exc.hint:
            print(self._style(f"hint: {clip_text(exc.hint)}", "dim"), file=sys.stderr)
        sys.stderr.flush()
