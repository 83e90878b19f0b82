"""Read a project's files from disk: the I/O half of :mod:`kmenv.spec` and :mod:`kmenv.lockfile`.

Both packages are pure (text in, a checked model out); opening a file, and telling "absent" from
"unreadable", happens here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import ProjectNotFoundError

if TYPE_CHECKING:
    from kmenv.spec.document import ProjectSpec

__all__ = ["read_project_file", "read_spec"]


def read_project_file(path: Path) -> bytes | None:
    """The bytes of ``kmodels.yaml`` or ``kmodels.lock``; None when the file does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def read_spec(path: Path) -> ProjectSpec:
    """Read ``kmodels.yaml`` (UTF-8) and parse it; raises :class:`SpecError` or :class:`ProjectNotFoundError`."""
    from kmenv.spec.document import decode_spec, parse_spec

    data = read_project_file(path)
    if data is None:
        raise ProjectNotFoundError(f"{path} does not exist", hint="create one with kmenv init")
    return parse_spec(decode_spec(data, str(path)), str(path))
