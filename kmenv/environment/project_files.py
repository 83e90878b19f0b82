"""Read a project's files from disk: the I/O half of :mod:`kmenv.spec` and :mod:`kmenv.lockfile`.

Both packages are pure (text in, a checked model out); opening a file, telling "absent" from "unreadable", and
refusing a folder, a FIFO, a device or a file past its size cap (:func:`kmenv.fs.bounded.read_capped`) happen here.
"""

from __future__ import annotations

from pathlib import Path

from kmenv.errors import LockfileError, Problem, ProjectNotFoundError, SpecError
from kmenv.fs.bounded import NotAFileError, TooLargeError, read_capped
from kmenv.lockfile.limits import MAX_LOCK_BYTES
from kmenv.spec._located import too_large
from kmenv.spec.limits import MAX_SPEC_BYTES

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the warm install reads these)
if TYPE_CHECKING:
    from kmenv.spec.document import ProjectSpec

__all__ = ["read_lock_bytes", "read_spec", "read_spec_bytes"]


def _unreadable(path: Path, exc: OSError) -> tuple[str, str]:
    """The message and hint for a project file that exists but cannot be read as one."""
    if isinstance(exc, NotAFileError):
        return f"it is {exc.kind}, not a file", f"replace it with the file {path.name} (or remove it)"
    return f"cannot read it: {exc.strerror or exc}", "check the file's permissions"


def read_spec_bytes(path: Path) -> bytes | None:
    """The bytes of ``kmodels.yaml`` (None when absent); a located SpecError when it is past the size cap."""
    try:
        data = read_capped(path, MAX_SPEC_BYTES)
    except TooLargeError as exc:
        data = exc.head  # enough of it to say where it crosses the cap
    except OSError as exc:
        message, hint = _unreadable(path, exc)
        raise SpecError([Problem(str(path), "", message, hint)]) from None
    oversized = None if data is None else too_large(data, str(path))
    if oversized is not None:
        raise oversized
    return data


def read_lock_bytes(path: Path) -> bytes | None:
    """The bytes of ``kmodels.lock`` (None when absent); a LockfileError when it is no file or past the size cap."""
    try:
        return read_capped(path, MAX_LOCK_BYTES)
    except TooLargeError:
        raise LockfileError(
            f"{path}: larger than {MAX_LOCK_BYTES // (1024 * 1024)} MiB, the most kmenv reads for a lock",
            hint="is this the right file? regenerate it with `kmenv lock`",
        ) from None
    except OSError as exc:
        message, hint = _unreadable(path, exc)
        raise LockfileError(f"{path}: {message}", hint=hint) from None


def read_spec(path: Path) -> ProjectSpec:
    """Read ``kmodels.yaml`` (UTF-8) and parse it; raises :class:`SpecError` or :class:`ProjectNotFoundError`."""
    from kmenv.spec.document import decode_spec, parse_spec

    data = read_spec_bytes(path)
    if data is None:
        raise ProjectNotFoundError(f"{path} does not exist", hint="create one with kmenv init")
    return parse_spec(decode_spec(data, str(path)), str(path))
