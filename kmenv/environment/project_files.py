"""Read a project's files from disk: the I/O half of :mod:`kmenv.spec` and :mod:`kmenv.lockfile`.

Both packages are pure (text in, a checked model out); opening a file, and telling "absent" from
"unreadable", happens here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import ProjectNotFoundError
from kmenv.spec._located import too_large
from kmenv.spec.limits import MAX_SPEC_BYTES

if TYPE_CHECKING:
    from kmenv.spec.document import ProjectSpec

__all__ = ["read_project_file", "read_spec", "read_spec_bytes"]


def read_project_file(path: Path, *, limit: int | None = None) -> bytes | None:
    """The bytes of ``kmodels.yaml`` or ``kmodels.lock``; None when the file does not exist.

    With ``limit``, at most ``limit + 1`` bytes are read: enough for the caller to tell a file past its cap from one
    at it, without reading on through an endless one (``/dev/zero``).
    """
    try:
        with path.open("rb") as file:
            return file.read() if limit is None else file.read(limit + 1)
    except FileNotFoundError:
        return None


def read_spec_bytes(path: Path) -> bytes | None:
    """The bytes of ``kmodels.yaml`` (None when absent); a located SpecError when it is past the size cap."""
    data = read_project_file(path, limit=MAX_SPEC_BYTES)
    oversized = None if data is None else too_large(data, str(path))
    if oversized is not None:
        raise oversized
    return data


def read_spec(path: Path) -> ProjectSpec:
    """Read ``kmodels.yaml`` (UTF-8) and parse it; raises :class:`SpecError` or :class:`ProjectNotFoundError`."""
    from kmenv.spec.document import decode_spec, parse_spec

    data = read_spec_bytes(path)
    if data is None:
        raise ProjectNotFoundError(f"{path} does not exist", hint="create one with kmenv init")
    return parse_spec(decode_spec(data, str(path)), str(path))
