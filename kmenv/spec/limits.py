"""How big ``kmodels.yaml`` may be: every bound on reading it, in one place, and the located error for each.

A declaration is a short hand-written file, so each bound sits far above what a real one reaches (a generated project
of 5,000 models is 620 KB, six levels deep, with no scalar past 100 characters) and far below what makes the YAML
parser hang, recurse or flood the terminal. The size cap is applied to the bytes (and again to the text, for callers
that hand text in); the others are applied while the document is composed (:mod:`kmenv.spec._bounded`). Light on
purpose: the install fast path imports :data:`MAX_SPEC_BYTES` before anything heavy is loaded.
"""

from __future__ import annotations

import re

from kmenv.errors import Problem, SpecError

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_QUOTED_CHARS",
    "MAX_SCALAR_CHARS",
    "MAX_SPEC_BYTES",
    "MAX_TEXT_CHARS",
    "clip",
    "clipped",
    "located",
    "too_large",
]

#: The largest kmodels.yaml read, in bytes (and characters, for text handed in): about 8,000 models.
MAX_SPEC_BYTES = 1024 * 1024
#: The deepest nesting of mappings and lists; a real file nests six levels (policy.licenses.exceptions[0].allow[0]).
MAX_DEPTH = 32
#: The longest scalar (a key or a value), in characters.
MAX_SCALAR_CHARS = 64 * 1024
#: The longest scalar read as a number; past it, converting to int is slow or refused by Python.
MAX_NUMBER_CHARS = 100
#: How many nodes all aliases together may add when expanded; an alias bomb adds billions.
MAX_ALIAS_NODES = 4096
#: The longest run of text without a space quoted in a message; longer runs are cut short with an ellipsis.
MAX_QUOTED_CHARS = 80
#: The longest message, key or hint in a problem, in characters.
MAX_TEXT_CHARS = 400

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
