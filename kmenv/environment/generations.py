"""The environment folder: immutable generations of linked model files, and an atomic switch between them.

Layout under ``root`` (``.kmenv/`` beside kmodels.yaml)::

    generations/<n>/<name>/<files>   one complete materialisation of a lock, never changed after
    generations/.<n>.lock            the lock it was built from (what ``list``/``tree``/``why`` describe),
                                     written before the folder is renamed into place, so a complete
                                     generation has one; kept beside it so the folder holds models only
    generations/.<n>.tmp/            a generation being built; a crash leaves only this behind
    generations/.<n>.del.tmp/        a generation being deleted (renamed first, then emptied)
    generations/.last                the last number handed out, so numbers are never reused
    models -> generations/<n>        the generation in use (relative symlink, swapped atomically)
    state.json                       the installer's record (opaque here), written atomically
    .lock                            flock serialising installs into this environment, naming its holder
                                     (:mod:`kmenv.fs.locks`)

Standard library only (plus :mod:`kmenv.environment.linking` and :mod:`kmenv.fs.atomic`): the no-op install
path reads state from here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from kmenv.environment._state_file import MAX_STATE_BYTES, state_text
from kmenv.environment.linking import Linker
from kmenv.errors import IntegrityError, KmenvError, NotInstalledError, StorageError, UsageError
from kmenv.fs.atomic import write_atomic
from kmenv.fs.bounded import read_capped
from kmenv.fs.failures import refused_writes
from kmenv.fs.locks import LockHolder, held_lock, waiting_text
from kmenv.values.documents import DocumentRefused, JsonBounds, parse_json
from kmenv.values.paths import is_relative_path, model_name_problem

__all__ = ["EnvironmentDir", "check_model_name", "check_relative_path"]

_DIR_MODE = 0o755
_GENERATION = re.compile(r"^generations/([1-9][0-9]*)$")


def check_model_name(name: str) -> str:
    """``name`` if it is a model name (:func:`kmenv.values.paths.model_name_problem`); IntegrityError otherwise."""
    problem = model_name_problem(name)
    if problem is not None:
        raise IntegrityError(
            f"refusing model name {name!r}: it is not a plain folder name",
            hint=f"{problem}; correct it in kmodels.yaml, then re-create the lock with `kmenv lock`",
        )
    return name


def check_relative_path(path: str, *, model: str) -> str:
    """``path`` if it stays inside its model folder (:func:`kmenv.values.paths.relative_path_problem`)."""
    if not is_relative_path(path):
        raise IntegrityError(
            f"{model}: refusing file path {path!r}: it could escape the model folder",
            hint="the lock or the registry lists an unsafe path; re-create the lock with `kmenv lock` "
            "and report the model to its registry",
        )
    return path


def _check_layout(layout: Mapping[str, Sequence[tuple[str, Path]]]) -> None:
    """Refuse unsafe names and paths, duplicates, and a path that is also another path's folder."""
    for name, files in layout.items():
        check_model_name(name)
        paths = {check_relative_path(rel, model=name) for rel, _ in files}
        if len(paths) != len(files):
            raise IntegrityError(f"{name}: the same file path is listed twice", hint="re-create the lock")
        folders = {"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)}
        if clash := sorted(paths & folders):
            raise IntegrityError(
                f"{name}: {clash[0]!r} is listed both as a file and as a folder", hint="re-create the lock"
            )


def _remove_tree(path: Path) -> None:
    """Delete a folder of (read-only) linked files; folders are writable, so unlinking works."""
    shutil.rmtree(path, ignore_errors=True)


class EnvironmentDir:
    """One environment folder; see the module docstring for the layout.

    Mutating methods take :meth:`lock` themselves (it is re-entrant within one instance), so
    callers hold it around a whole read-build-switch-record sequence to keep it consistent.
    """

    def __init__(self, root: Path, *, on_wait: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.on_wait = on_wait
        self._mutex = threading.RLock()
        self._held: contextlib.ExitStack | None = None
        self._depth = 0

    @property
    def _generations_dir(self) -> Path:
        return self.root / "generations"

    @property
    def _models_link(self) -> Path:
        return self.root / "models"

    def _ensure_root(self) -> None:
        with refused_writes(self.root):  # a full or read-only project disk: one clean error
            if not self.root.is_dir():
                self.root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
                (self.root / ".gitignore").write_text(
                    "# created by kmenv: the environment is rebuilt from the lock\n*\n"
                )
            self._generations_dir.mkdir(mode=_DIR_MODE, exist_ok=True)

    @property
    def held(self) -> bool:
        """Whether this object holds the environment's lock now (so what was read under it is still current)."""
        return self._depth > 0

    @contextlib.contextmanager
    def lock(self, operation: str = "changing the environment") -> Iterator[None]:
        """Hold the environment's file lock (blocking), so installs into it run one at a time.

        ``operation`` (``installing``) is recorded in the lock file for a run that has to wait, which
        hears ``waiting for another kmenv (pid N) installing here…`` through ``on_wait`` before waiting.
        Re-entrant: an inner call keeps the outer one's record.
        """
        with self._mutex:
            if self._depth == 0:
                self._ensure_root()
                stack = contextlib.ExitStack()
                stack.enter_context(held_lock(self.root / ".lock", operation=operation, on_wait=self._waiting))
                self._held = stack
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._held is not None:
                    self._held.close()  # releases the flock
                    self._held = None

    def _waiting(self, holder: LockHolder) -> None:
        if self.on_wait is not None:
            self.on_wait(waiting_text(holder))

    def current(self) -> int | None:
        """The generation ``models`` points at, or None when nothing is installed."""
        try:
            target = os.readlink(self._models_link)
        except FileNotFoundError:
            return None
        except OSError:
            target = ""
        match = _GENERATION.match(target)
        if not match:
            raise IntegrityError(
                f"{self._models_link} is not a link to a generation",
                hint="move it away, then run `kmenv install` to rebuild the environment",
            )
        return int(match.group(1))

    def generations(self) -> list[int]:
        """Every complete generation, oldest first."""
        try:
            names = [p.name for p in self._generations_dir.iterdir() if p.is_dir()]
        except FileNotFoundError:
            return []
        return sorted(int(n) for n in names if n.isdigit() and not n.startswith("0"))

    def generation_path(self, generation: int) -> Path:
        """The folder of one generation (whether or not it exists)."""
        return self._generations_dir / str(generation)

    def model_path(self, name: str) -> Path:
        """Where model ``name`` is, through the ``models`` link (so it follows switches)."""
        return self._models_link / check_model_name(name)

    def build(
        self, layout: Mapping[str, Sequence[tuple[str, Path]]], *, link_mode: str = "auto", record: str | None = None
    ) -> int:
        """Build a new generation and return its number; the ``models`` link is left alone.

        ``layout`` maps model name to ``(path inside the model folder, source blob)`` pairs;
        ``record`` is the text of the lock it materialises, kept as ``generations/.<n>.lock``.
        Everything is checked before the disk is touched; the generation is assembled in
        ``generations/.<n>.tmp`` and renamed into place only when complete.
        """
        linker = Linker(link_mode)
        _check_layout(layout)
        with self.lock():
            self._remove_leftovers()
            number = self._next_number()
            temp = self._generations_dir / f".{number}.tmp"
            temp.mkdir(mode=_DIR_MODE)
            try:
                for name, files in sorted(layout.items()):
                    folder = temp / name
                    folder.mkdir(mode=_DIR_MODE)
                    for rel, blob in files:
                        target = folder / rel
                        target.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
                        self._link(linker, Path(blob), target, f"{name}/{rel}")
                if record is not None:
                    self.write_record(number, record)
                os.rename(temp, self.generation_path(number))
            except BaseException:
                _remove_tree(temp)
                self._record_path(number).unlink(missing_ok=True)
                raise
            return number

    @staticmethod
    def _link(linker: Linker, blob: Path, target: Path, what: str) -> None:
        try:
            linker.link(blob, target)
        except FileNotFoundError:
            raise IntegrityError(
                f"{blob} is missing from the store (needed for {what})",
                hint="run `kmenv install` again to fetch it",
            ) from None
        except StorageError:
            raise  # a full or read-only disk, already worded by the linker
        except OSError as exc:
            raise KmenvError(
                f"cannot place {what} at {target}: {exc.strerror}", hint="check free space and permissions"
            ) from None

    def _record_path(self, generation: int) -> Path:
        return self._generations_dir / f".{generation}.lock"

    def read_record(self, generation: int) -> str | None:
        """The text of the lock ``generation`` was built from; None when it has none (built by an older kmenv)."""
        try:
            return self._record_path(generation).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def write_record(self, generation: int, text: str) -> None:
        """Record ``text`` as the lock ``generation`` materialises (a newer lock of the same content replaces it)."""
        with self.lock():
            write_atomic(self._record_path(generation), text)

    def switch(self, generation: int) -> None:
        """Point ``models`` at ``generation`` atomically (readers see the old or the new, never neither)."""
        with self.lock():
            if not self.generation_path(generation).is_dir():
                raise NotInstalledError(
                    f"generation {generation} does not exist in {self._generations_dir}",
                    hint=f"available: {', '.join(map(str, self.generations())) or 'none'}",
                )
            temp = self.root / f"models.tmp-{os.getpid()}"
            temp.unlink(missing_ok=True)
            os.symlink(f"generations/{generation}", temp)
            try:
                os.replace(temp, self._models_link)
            except OSError:
                temp.unlink(missing_ok=True)
                raise IntegrityError(
                    f"{self._models_link} is a folder, not the link kmenv manages",
                    hint="move it away, then run `kmenv install` again",
                ) from None

    def remove(self, generation: int) -> None:
        """Delete a generation that is not in use (its number is never handed out again).

        It is first renamed to a hidden ``.<n>.del.tmp`` (atomic), so an interrupted delete never
        leaves a half-emptied folder that looks like a complete generation.
        """
        with self.lock():
            if generation == self.current():
                raise UsageError(
                    f"generation {generation} is in use in {self.root}", hint="switch to another generation first"
                )
            doomed = self._generations_dir / f".{generation}.del.tmp"
            try:
                os.rename(self.generation_path(generation), doomed)
            except FileNotFoundError:
                return
            self._record_path(generation).unlink(missing_ok=True)
            _remove_tree(doomed)

    def read_state(self) -> dict[str, object] | None:
        """The installer's record, or None when absent or unreadable (which means: check everything)."""
        try:
            raw = read_capped(self.root / "state.json", MAX_STATE_BYTES)
            state = None if raw is None else parse_json(raw, JsonBounds(MAX_STATE_BYTES))
        except (OSError, DocumentRefused):
            return None
        return state if isinstance(state, dict) else None

    def write_state(self, state: Mapping[str, object]) -> None:
        """Replace the installer's record atomically."""
        with self.lock():
            write_atomic(self.root / "state.json", state_text(dict(state)))

    def _next_number(self) -> int:
        counter = self._generations_dir / ".last"
        try:
            last = int(counter.read_text(encoding="utf-8").strip() or 0)
        except (OSError, ValueError):
            last = 0
        number = max([last, *self.generations()]) + 1
        write_atomic(counter, f"{number}\n")
        return number

    def _remove_leftovers(self) -> None:
        """Delete half-built generations and stray switch links from an interrupted run."""
        for path in self._generations_dir.glob(".*.tmp"):
            if path.is_dir() and not path.is_symlink():
                _remove_tree(path)
            else:  # a counter update cut short (write_atomic's temp file)
                path.unlink(missing_ok=True)
        for link in self.root.glob("models.tmp-*"):
            link.unlink(missing_ok=True)
        kept = {str(n) for n in self.generations()}
        for record in self._generations_dir.glob(".*.lock"):
            if record.name[1:-5] not in kept:  # its generation was deleted, or never completed
                record.unlink(missing_ok=True)
