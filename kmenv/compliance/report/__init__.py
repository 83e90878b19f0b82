"""Report writers for ``kmenv check``: one small module per format, each ``render(report) -> str``.

Pure: a :class:`~kmenv.compliance.check.CheckReport` in, text out; the CLI decides where it goes.
"""

from __future__ import annotations

from collections.abc import Callable

from kmenv.compliance.check import CheckReport

__all__ = ["FORMATS", "render"]

FORMATS = ("text", "json", "sarif", "github", "junit", "markdown")


def render(report: CheckReport, fmt: str) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`), ending with a newline."""
    from kmenv.compliance.report import _github, _json, _junit, _markdown, _sarif, text

    writers: dict[str, Callable[[CheckReport], str]] = {
        "text": text.render,
        "json": _json.render,
        "sarif": _sarif.render,
        "github": _github.render,
        "junit": _junit.render,
        "markdown": _markdown.render,
    }
    if fmt not in writers:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = writers[fmt](report)
    return out if out.endswith("\n") else out + "\n"
