"""The located, clipped SpecError for input past a bound of :mod:`kmenv.spec.limits`, and the clipping itself.

A problem quotes the text it is about; clipping keeps a 2 MB line from becoming 2 MB of error output.
"""

from __future__ import annotations

import re

from kmenv.errors import Problem, SpecError
from kmenv.spec.limits import MAX_QUOTED_CHARS, MAX_SPEC_BYTES, MAX_TEXT_CHARS

__all__ = ["clip", "clipped", "located", "too_large"]

_MIB = MAX_SPEC_BYTES // (1024 * 1024)
_LONG_RUN = re.compile(rf"\S{{{MAX_QUOTED_CHARS + 1},}}")


def clip(text: str) -> str:
    """``text`` on one line, each long run of non-space characters and the whole cut short (an ellipsis says where)."""
    text = _LONG_RUN.sub(lambda m: m.group()[:MAX_QUOTED_CHARS] + "…", " ".join(text.splitlines()))
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + "…"


def clipped(problem: Problem) -> Problem:
    """``problem`` with its key, message and hint cut short, so quoting a 2 MB line prints a line, not 2 MB."""
    hint = None if problem.hint is None else clip(problem.hint)
    return Problem(
        problem.file, clip(problem.key), clip(problem.message), hint, line=problem.line, column=problem.column
    )


def located(text: str | bytes, index: int, filename: str, message: str, hint: str | None) -> SpecError:
    """A one-problem SpecError at character (or byte) ``index`` of ``text``, with line and column counted there."""
    if isinstance(text, str):
        line, start = text.count("\n", 0, index) + 1, text.rfind("\n", 0, index) + 1
    else:
        line, start = text.count(b"\n", 0, index) + 1, text.rfind(b"\n", 0, index) + 1
    column = index - start + 1
    return SpecError([clipped(Problem(filename, "", message, hint, line=line, column=column))])


def too_large(text: str | bytes, filename: str) -> SpecError | None:
    """The error for a file past :data:`MAX_SPEC_BYTES`, located where it crosses the cap; None when it fits."""
    if len(text) <= MAX_SPEC_BYTES:
        return None
    unit = "character" if isinstance(text, str) else "byte"
    message = f"the file goes on past this {unit}: it is larger than {_MIB} MiB, the most kmenv reads"
    return located(text, MAX_SPEC_BYTES, filename, message, "kmodels.yaml is a short file; is this the right one?")
