"""A project's two files as one command sees them: ``kmodels.yaml`` and ``kmodels.lock``, each read once.

A :class:`ProjectState` is a value: each file is read at most once and parsed at most once, on
first use (``kmenv list`` reads the lock and never parses the declaration), and nothing re-reads
it. An action that writes a file returns a new state (:meth:`ProjectState.with_spec`,
:meth:`ProjectState.with_lock`) built from what it wrote, so the digests the installer records
are those of the bytes on disk without reading them back.
"""

from __future__ import annotations

import io
from functools import cached_property
from pathlib import Path

from kmenv.environment.layout import LOCK_FILENAME, ProjectPaths
from kmenv.environment.project_files import read_lock_bytes, read_spec_bytes
from kmenv.errors import LockfileError, ProjectNotFoundError, UsageError
from kmenv.fs.atomic import write_atomic
from kmenv.values.documents import DocumentRefused, decode_utf8
from kmenv.values.sha256 import sha256_hex

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the warm install opens a project)
if TYPE_CHECKING:
    from kmenv.lockfile.document import DeclaredInputs, LockFile
    from kmenv.spec.document import ProjectSpec

__all__ = ["UNREAD", "ProjectState", "write_lock", "write_spec"]

#: Stands for "not read yet" where None means "the file does not exist".
UNREAD: object = object()


def _text(data: bytes) -> str:
    """Decode like ``Path.read_text(encoding="utf-8")``: universal newlines, a byte-order mark kept."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else sha256_hex(data)


class ProjectState(ProjectPaths):
    """``kmodels.yaml`` and ``kmodels.lock`` of the project at ``root``, as read once; immutable once seen.

    Read lazily, so a command pays only for what it uses; construct it through
    :meth:`kmenv.Project.open`, or derive it with :meth:`with_spec` / :meth:`with_lock`.
    """

    def __init__(self, root: Path, *, spec_bytes: object = UNREAD, lock_bytes: object = UNREAD) -> None:
        self.root = root
        if spec_bytes is not UNREAD:
            self.__dict__["spec_bytes"] = spec_bytes  # fills the cached property: already known
        if lock_bytes is not UNREAD:
            self.__dict__["lock_bytes"] = lock_bytes

    def __repr__(self) -> str:
        return f"ProjectState({str(self.root)!r})"

    # kmodels.yaml -----------------------------------------------------------------------------
    @cached_property
    def spec_bytes(self) -> bytes | None:
        """The declaration's bytes; None when there is no kmodels.yaml. A file past the size cap is a SpecError."""
        return read_spec_bytes(self.spec_path)

    @property
    def spec_sha256(self) -> str | None:
        return _sha256(self.spec_bytes)

    @cached_property
    def spec_text(self) -> str:
        """The declaration as text to edit (comment-preserving edits start from it)."""
        if self.spec_bytes is None:
            raise ProjectNotFoundError(f"{self.spec_path} does not exist", hint="create one with kmenv init")
        return _text(self.spec_bytes)

    @cached_property
    def spec(self) -> ProjectSpec:
        """The parsed declaration; raises :class:`~kmenv.errors.SpecError` listing every problem."""
        from kmenv.spec.document import decode_spec, parse_spec

        data = self.spec_bytes
        if data is None:
            raise ProjectNotFoundError(f"{self.spec_path} does not exist", hint="create one with kmenv init")
        return parse_spec(decode_spec(data, str(self.spec_path)), str(self.spec_path))

    @cached_property
    def inputs(self) -> DeclaredInputs:
        """The declaration reduced to what resolution depends on."""
        from kmenv.environment.interpreter import detect_interpreter
        from kmenv.lockfile.inputs import declared_inputs

        spec = self.spec
        detect = spec.environment is not None and spec.environment.detect
        return declared_inputs(spec, detected=detect_interpreter() if detect else None)

    # kmodels.lock -----------------------------------------------------------------------------
    @cached_property
    def lock_bytes(self) -> bytes | None:
        """The lock's bytes; None when there is no kmodels.lock yet. A folder, a device or a file past the size
        cap is a LockfileError."""
        return read_lock_bytes(self.lock_path)

    @property
    def lock_sha256(self) -> str | None:
        return _sha256(self.lock_bytes)

    @cached_property
    def lock_text(self) -> str | None:
        """The lock as text; None when there is none. Raises :class:`LockfileError` when it is not UTF-8."""
        if self.lock_bytes is None:
            return None
        try:
            return _text(self.lock_bytes)
        except UnicodeDecodeError:
            pass
        try:
            decode_utf8(self.lock_bytes)
        except DocumentRefused as refused:  # says where, and names UTF-16
            where = refused.place(str(self.lock_path))
            raise LockfileError(f"{where}: {refused.message}", hint="regenerate it with `kmenv lock`") from None
        raise LockfileError(f"{self.lock_path}: not UTF-8 text", hint="regenerate it with `kmenv lock`")

    @cached_property
    def lock(self) -> LockFile | None:
        """The parsed lock, or None when there is none yet; raises :class:`LockfileError` when it is damaged."""
        from kmenv.lockfile.document import parse_lock

        text = self.lock_text  # bytes that are no text are refused here, with their place
        return None if text is None else parse_lock(text, str(self.lock_path))

    def require_lock(self) -> LockFile:
        """The lock, or a usage error telling the user to create it."""
        lock = self.lock
        if lock is None:
            raise UsageError(f"no {LOCK_FILENAME} in {self.root}", hint="run `kmenv lock` or `kmenv install`")
        return lock

    # new values after a write -----------------------------------------------------------------
    def with_spec(self, text: str) -> ProjectState:
        """The project once kmodels.yaml holds ``text`` (the lock as this state read it)."""
        state = ProjectState(self.root, spec_bytes=text.encode("utf-8"))
        for known in ("lock_bytes", "lock_text", "lock"):
            if known in self.__dict__:
                state.__dict__[known] = self.__dict__[known]
        return state

    def with_lock(self, text: str, lock: LockFile) -> ProjectState:
        """The project once kmodels.lock holds ``text``, the serialised ``lock`` (the declaration as read)."""
        state = ProjectState(self.root, lock_bytes=text.encode("utf-8"))
        state.__dict__["lock_text"] = text
        state.__dict__["lock"] = lock
        for known in ("spec_bytes", "spec_text", "spec", "inputs"):
            if known in self.__dict__:
                state.__dict__[known] = self.__dict__[known]
        return state


def _replace(path: Path, text: str) -> None:
    """``write_atomic``, with a folder standing where the file goes as a usage error rather than a traceback."""
    try:
        write_atomic(path, text)
    except IsADirectoryError:
        raise UsageError(
            f"{path} is a folder, not a file", hint=f"remove the folder {path.name}, then run again"
        ) from None


def write_spec(state: ProjectState, text: str) -> ProjectState:
    """Replace kmodels.yaml with ``text`` atomically; the project as it now stands."""
    _replace(state.spec_path, text)
    return state.with_spec(text)


def write_lock(state: ProjectState, text: str, lock: LockFile) -> ProjectState:
    """Replace kmodels.lock with ``text`` (the serialised ``lock``) atomically; the project as it now stands."""
    _replace(state.lock_path, text)
    return state.with_lock(text, lock)
