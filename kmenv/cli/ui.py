"""Terminal output: plain lines, rich tables on demand, JSON for scripts, and error rendering.

Under ``--json`` stdout holds one object (:meth:`UI.emit_json` adds its kind's ``schema_version``), and a failure
is such a document too (:func:`error_document`) unless the command printed its own first.

rich is imported only when something is actually rendered with it, so commands that print a
line or two (and the no-op install) stay fast.

Colour (:func:`use_color`): ``--color always``/``never`` decide outright (``--no-color`` is ``never``); under
``auto`` a non-empty ``NO_COLOR`` turns it off (https://no-color.org: an empty one does not), else a non-empty
``FORCE_COLOR`` turns it on even when piped, else ``TERM=dumb`` turns it off, else a terminal gets colour.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping, Sequence

from kmenv.errors import KmenvError, clip_text

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the warm install shows this UI)
if TYPE_CHECKING:
    from typing import IO, Any

    from rich.console import Console

__all__ = ["COLOR_CHOICES", "UI", "error_document", "use_color"]

#: The values of ``--color``.
COLOR_CHOICES = ("auto", "always", "never")


def use_color(choice: str, *, tty: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a stream gets colour under ``--color choice`` (the rules are in the module docstring)."""
    env = os.environ if environ is None else environ
    if choice != "auto":
        return choice == "always"
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    return tty


class UI:
    """How this run talks: ``quiet`` silences progress and chatter, ``json`` reserves stdout for one document.

    ``color`` is a ``--color`` choice (True/False mean ``auto``/``never``); ``progress=False`` keeps
    download bars and periodic totals away while the rest still prints (``--no-progress``).
    """

    def __init__(
        self,
        *,
        quiet: bool = False,
        verbose: bool = False,
        color: str | bool = "auto",
        json_output: bool = False,
        progress: bool = True,
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.color_choice = color if isinstance(color, str) else ("auto" if color else "never")
        self.color = self.color_choice != "never"
        self.json = json_output
        self.progress = progress
        self.emitted = False  # a JSON document is on stdout already: an error after it adds none
        self._console: Console | None = None
        self._err_console: Console | None = None

    # plain text -------------------------------------------------------------------------------
    def line(self, text: str = "") -> None:
        """A result line on stdout (suppressed in JSON mode, where stdout holds the document)."""
        if not self.json:
            _say(sys.stdout, text)

    def note(self, text: str) -> None:
        """Chatter about progress on stderr; silenced by ``-q``."""
        if not self.quiet:
            _say(sys.stderr, text)

    def detail(self, text: str) -> None:
        """Only with ``-v``."""
        if self.verbose and not self.quiet:
            _say(sys.stderr, text)

    def warn(self, text: str) -> None:
        """Warnings survive ``-q``: they are about the result, not the progress."""
        _say(sys.stderr, self._style(f"warning: {text}", "yellow"))

    def emit_json(self, kind: str, data: Mapping[str, Any]) -> None:
        """The run's one JSON document on stdout: an object with the ``schema_version`` of its ``kind``
        (the kinds and their schemas: :mod:`kmenv.actions.outputs`)."""
        from kmenv.actions.outputs.versions import VERSIONS

        document = {**data, "schema_version": VERSIONS[kind]}
        self.emit_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

    def emit_text(self, text: str) -> None:
        """The run's one document, already rendered (a report format), on stdout."""
        self.emitted = True
        sys.stdout.write(text)
        sys.stdout.flush()

    # rich -------------------------------------------------------------------------------------
    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=False, **self._rich_color(sys.stdout))
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(stderr=True, highlight=False, **self._rich_color(sys.stderr))
        return self._err_console

    def colored(self, stream: IO[str]) -> bool:
        """Whether ``stream`` gets colour in this run."""
        if self.color_choice != "auto":
            return self.color_choice == "always"
        try:
            tty = stream.isatty()
        except ValueError:  # closed (a test's captured stream, an early exit)
            tty = False
        return use_color("auto", tty=tty)

    def _rich_color(self, stream: IO[str]) -> dict[str, Any]:
        """rich's colour settings from ours: rich's own reading of the environment differs (an empty ``NO_COLOR``)."""
        if self.colored(stream):
            return {"force_terminal": True, "no_color": False}
        return {"color_system": None, "no_color": True}

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
    def _style(self, text: str, color: str, stream: IO[str] | None = None) -> str:
        if not self.colored(sys.stderr if stream is None else stream):
            return text
        codes = {"red": "31", "yellow": "33", "dim": "2", "bold": "1", "green": "32"}
        return f"\x1b[{codes[color]}m{text}\x1b[0m"

    def error(self, exc: KmenvError, *, code: int | None = None, prefix: str = "error: ") -> None:
        """One line for the error, one per detail, one for the hint on stderr; under ``--json`` the same as
        a document on stdout (unless the command printed its own already), so a script reads why it failed.

        ``code`` is the exit code when it is not the error's own (an interruption, an unexpected failure).
        """
        print(self._style(f"{prefix}{clip_text(exc.message)}", "red"), file=sys.stderr)
        details = exc.details()
        for item in details:
            print(f"  {clip_text(item)}", file=sys.stderr)
        if exc.hint:
            print(self._style(f"hint: {clip_text(exc.hint)}", "dim"), file=sys.stderr)
        sys.stderr.flush()
        if self.json and not self.emitted:
            self.emit_json("error", error_document(exc, exc.exit_code if code is None else code, details))


def error_document(exc: KmenvError, code: int, details: Sequence[str]) -> dict[str, Any]:
    """What ``--json`` prints on stdout when a command fails: the stderr lines as fields, and the exit code."""
    return {
        "error": clip_text(exc.message),
        "hint": clip_text(exc.hint) if exc.hint else None,
        "details": [clip_text(item) for item in details],
        "exit_code": code,
    }


_SAYING = threading.Lock()


def _say(stream: IO[str], text: str) -> None:
    """One whole line in one write: lines from parallel downloads never run into each other
    (``print`` writes the text and its newline apart)."""
    with _SAYING:
        stream.write(text + "\n")
        stream.flush()
