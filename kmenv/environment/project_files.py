"""Read a project's ``kmodels.yaml`` from disk: the I/O half of :func:`kmenv.spec.document.parse_spec`.

The spec package is pure (text in, a checked model out); opening the file and decoding its bytes,
with the errors a user needs for each way that can fail, happens here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import Problem, ProjectNotFoundError, SpecError

if TYPE_CHECKING:
    from kmenv.spec.document import ProjectSpec

__all__ = ["read_spec"]


def read_spec(path: Path) -> ProjectSpec:
    """Read ``kmodels.yaml`` (UTF-8) and parse it; raises :class:`SpecError` or :class:`ProjectNotFoundError`."""
    from kmenv.spec.document import parse_spec

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProjectNotFoundError(f"{path} does not exist", hint="create one with kmenv init") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = Problem(str(path), "", "the file is not UTF-8 text", "save it as UTF-8", line=line)
        raise SpecError([problem]) from None
    return parse_spec(text, str(path))
