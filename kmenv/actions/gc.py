"""``kmenv gc`` and ``kmenv cache prune``: plan what can go, show it with sizes, then delete in a safe order.

Three steps, so the plan can be shown (``--dry-run``) and tested without touching the disk:

- :func:`scan_cache` (I/O) reads the cache and every environment its roots name into a
  :class:`CacheSnapshot`;
- :func:`plan_gc` (pure) turns a snapshot and :class:`GcOptions` into a frozen :class:`GcPlan`;
- :func:`execute_plan` (I/O) deletes references before what they reference: old generations,
  then roots, then digest-index entries, then blobs, then partial downloads and old metadata.
  Interrupted at any point, every kept generation still has its blobs.

A blob is protected when a kept generation of a live environment (see
:mod:`kmenv.store.roots`) uses it, when it was written or linked within ``grace``
seconds (an install may be about to record it), or when any root is unreadable.

:func:`plan_collection` and :func:`collect_garbage` are the use case as the CLI runs it: scan and
plan through the store and the ledger, then execute and record a ``gc`` event. The three steps stay
in one module because they share the snapshot and plan types and one safety argument (references
go before what they reference), which reads best in one place.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import UsageError
from kmenv.ledger.events import Event
from kmenv.store.digests import is_sha256
from kmenv.store.partials import pid_alive
from kmenv.store.roots import Root, forget_generations, read_roots

if TYPE_CHECKING:
    from kmenv.ledger.database import UsageLedger
    from kmenv.store.blobstore import Store

__all__ = [
    "BlobFile",
    "CacheSnapshot",
    "Deletion",
    "EnvironmentSnapshot",
    "GcOptions",
    "GcPlan",
    "GcResult",
    "LooseFile",
    "collect_garbage",
    "execute_plan",
    "parse_duration",
    "plan_collection",
    "plan_gc",
    "scan",
    "scan_cache",
]

DAY = 86400.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": DAY, "s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}
_HOST = os.uname().nodename
#: Order of execution: references before what they reference.
ORDER = ("generation", "root", "index", "blob", "partial", "metadata")


def parse_duration(text: str) -> float:
    """Seconds in ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` (a bare number means days)."""
    match = _DURATION.match(text.lower())
    if not match:
        raise UsageError(
            f"{text!r} is not a duration", hint="write a number and a unit: 30d, 12h, 90m, 45s or 2w (days by default)"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class BlobFile:
    """A blob in the store: ``changed`` is its ctime (a hard link made to it counts as a change)."""

    sha256: str
    path: Path
    size: int
    changed: float


@dataclass(frozen=True)
class LooseFile:
    """A file that is not a blob: ``kind`` is ``partial``, ``metadata`` or ``index``.

    ``alive``: a partial written right now by a live process on this host; ``points_to``:
    the sha256 an index entry names, or the sha256 a partial is for (when its name says).
    """

    kind: str
    path: Path
    size: int
    modified: float
    alive: bool = False
    points_to: str | None = None


@dataclass(frozen=True)
class EnvironmentSnapshot:
    """One environment named by a root, as found on disk.

    ``exists``: the folder is there with a ``generations`` folder; ``generations``: complete
    generations on disk with their sizes (bytes only they hold: files with one link);
    ``unrecorded``: sha256s used by generations the root does not list (found by reading them).
    """

    root: Root
    exists: bool
    current: int | None
    generations: Mapping[int, int]
    last_use: float
    unrecorded: Mapping[int, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheSnapshot:
    """Everything gc needs to decide, read at ``now``."""

    cache: Path
    now: float
    blobs: tuple[BlobFile, ...]
    loose: tuple[LooseFile, ...]
    environments: tuple[EnvironmentSnapshot, ...]


@dataclass(frozen=True)
class GcOptions:
    """What may go.

    ``keep``: generations kept per environment (the newest ones; the one in use always stays);
    ``None`` keeps them all (``cache prune``). ``unused_for``: an environment not used for this
    many seconds keeps only its current generation and no longer protects any blob.
    ``partial_age``/``metadata_age``: seconds after which partial downloads / cached registry
    answers count as stale. ``grace``: blobs changed more recently are never deleted.
    """

    keep: int | None = 2
    unused_for: float | None = None
    partial_age: float = 7 * DAY
    metadata_age: float = 30 * DAY
    grace: float = 3600.0


@dataclass(frozen=True)
class Deletion:
    """One thing the plan deletes; ``size`` is the space it gives back (an estimate for generations)."""

    kind: str
    path: Path
    size: int
    reason: str
    environment: Path | None = None
    generation: int | None = None


@dataclass(frozen=True)
class GcPlan:
    """A frozen deletion plan, in execution order; ``warnings`` say what was held back and why."""

    deletions: tuple[Deletion, ...]
    kept: Mapping[str, tuple[int, ...]]
    warnings: tuple[str, ...] = ()
    #: environment → the generations its root listed when planning; any others appear later and are protected.
    seen: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(d.size for d in self.deletions)

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """kind → (count, bytes), in execution order."""
        summary: dict[str, tuple[int, int]] = {}
        for d in self.deletions:
            count, size = summary.get(d.kind, (0, 0))
            summary[d.kind] = (count + 1, size + d.size)
        return summary

    def to_dict(self) -> dict[str, object]:
        return {
            "total_bytes": self.total_bytes,
            "summary": {k: {"count": c, "bytes": b} for k, (c, b) in self.by_kind().items()},
            "deletions": [
                {
                    "kind": d.kind,
                    "path": str(d.path),
                    "bytes": d.size,
                    "reason": d.reason,
                    "environment": str(d.environment) if d.environment else None,
                    "generation": d.generation,
                }
                for d in self.deletions
            ],
            "kept_generations": {env: list(gens) for env, gens in self.kept.items()},
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class GcResult:
    """What :func:`execute_plan` did: ``deleted`` things, ``freed`` bytes, and ``skipped`` ones with reasons."""

    deleted: int
    freed: int
    skipped: tuple[str, ...] = ()


# scanning (I/O) ---------------------------------------------------------------------------------


def _files(folder: Path) -> Iterable[tuple[Path, os.stat_result]]:
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            try:
                yield path, path.lstat()
            except FileNotFoundError:
                continue


def _partial(path: Path, info: os.stat_result) -> LooseFile:
    """A file under ``partial/`` or ``tmp/``: for whom, and whether a live writer on this host owns it.

    Private temp files are ``<key>.<host>-<pid>-<random>.tmp`` (plus ``.json`` beside them).
    """
    key, _, rest = path.name.partition(".")
    alive = False
    for suffix in (".tmp", ".tmp.json"):
        if rest.endswith(suffix):
            host, _, pid = rest[: -len(suffix)].rpartition("-")[0].rpartition("-")
            alive = host == _HOST and pid.isdigit() and pid_alive(int(pid))
    points_to = key if is_sha256(key) else None
    return LooseFile("partial", path, info.st_size, info.st_mtime, alive=alive, points_to=points_to)


def _generation_files(folder: Path) -> tuple[int, dict[tuple[int, int], int]]:
    """Bytes only this generation holds (files with one link), and (size, inode)→count of its files."""
    own = 0
    inodes: dict[tuple[int, int], int] = {}
    for _path, info in _files(folder):
        if info.st_nlink <= 1:
            own += info.st_size
        inodes[(info.st_dev, info.st_ino)] = info.st_size
    return own, inodes


def _read_environment(
    root: Root, last_use: Mapping[str, float], blobs: Mapping[tuple[int, int], str]
) -> EnvironmentSnapshot:
    from kmenv.actions.project import environment_at

    env = environment_at(root.environment)
    used = max(root.updated, last_use.get(str(root.environment), 0.0))
    if root.damaged or not (root.environment / "generations").is_dir():
        return EnvironmentSnapshot(root, False, None, {}, used)
    try:
        current = env.current()
    except Exception:  # a damaged link: treat as no current generation, keep everything recorded
        current = None
    sizes: dict[int, int] = {}
    unrecorded: dict[int, frozenset[str]] = {}
    for number in env.generations():
        own, inodes = _generation_files(env.generation_path(number))
        sizes[number] = own
        if number not in root.generations:
            # Built before roots existed (or the root was lost): protect the blobs it hard-links.
            unrecorded[number] = frozenset(blobs[key] for key in inodes if key in blobs)
    return EnvironmentSnapshot(root, True, current, sizes, used, unrecorded)


def scan_cache(cache: Path, *, last_use: Mapping[str, float] | None = None, now: float | None = None) -> CacheSnapshot:
    """Read the cache and the environments its roots name (no changes made)."""
    cache = Path(cache)
    blobs: list[BlobFile] = []
    by_inode: dict[tuple[int, int], str] = {}
    for path, info in _files(cache / "blobs" / "sha256"):
        if is_sha256(path.name):
            blobs.append(BlobFile(path.name, path, info.st_size, info.st_ctime))
            by_inode[(info.st_dev, info.st_ino)] = path.name
    loose: list[LooseFile] = []
    for sub in ("partial", "tmp"):
        loose += [_partial(path, info) for path, info in _files(cache / sub)]
    loose += [LooseFile("metadata", path, info.st_size, info.st_mtime) for path, info in _files(cache / "http")]
    for path, info in _files(cache / "index"):
        try:
            target = path.read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            target = ""
        loose.append(LooseFile("index", path, info.st_size, info.st_mtime, points_to=target))
    environments = tuple(_read_environment(root, last_use or {}, by_inode) for root in read_roots(cache))
    return CacheSnapshot(
        cache,
        time.time() if now is None else now,
        tuple(sorted(blobs, key=lambda b: b.sha256)),
        tuple(loose),
        environments,
    )


# planning (pure) --------------------------------------------------------------------------------


def plan_gc(snapshot: CacheSnapshot, options: GcOptions) -> GcPlan:
    """Decide what goes; see the module docstring for the rules. No I/O."""
    now = snapshot.now
    deletions: list[Deletion] = []
    warnings: list[str] = []
    protected: set[str] = set()
    protect_everything = False
    kept: dict[str, tuple[int, ...]] = {}
    seen: dict[str, tuple[int, ...]] = {}
    for env in snapshot.environments:
        root = env.root
        seen[str(root.environment)] = tuple(sorted(root.generations))
        if root.damaged:
            protect_everything = True
            warnings.append(f"cannot read {root.file}: no blob is deleted (delete that file if it is garbage)")
            continue
        if not env.exists:
            deletions.append(
                Deletion("root", root.file, 0, f"environment {root.environment} no longer exists", root.environment)
            )
            continue
        stale = options.unused_for is not None and now - env.last_use > options.unused_for
        numbers = sorted(env.generations)
        if options.keep is None and not stale:
            keep = set(numbers)
        else:
            count = 1 if stale else max(options.keep or 1, 1)
            keep = set(numbers[-count:])
        if env.current is not None:
            keep.add(env.current)
        elif not stale:
            keep = set(numbers)  # no readable current generation: touch nothing of it
        kept[str(root.environment)] = tuple(sorted(keep))
        for number in numbers:
            if number not in keep:
                why = f"unused since {_days(now - env.last_use)}" if stale else f"older than the {len(keep)} kept"
                deletions.append(
                    Deletion(
                        "generation",
                        root.environment / "generations" / str(number),
                        env.generations[number],
                        f"generation {number} of {root.environment}: {why}",
                        root.environment,
                        number,
                    )
                )
        if stale:
            warnings.append(
                f"{root.environment} unused for {_days(now - env.last_use)}: its blobs are no longer protected"
            )
        else:
            protected |= root.blobs(keep)
            for number in keep:
                protected |= env.unrecorded.get(number, frozenset())
    doomed: set[str] = set()
    present = {b.sha256 for b in snapshot.blobs}
    if not protect_everything:
        for blob in snapshot.blobs:
            if blob.sha256 in protected:
                continue
            if now - blob.changed < options.grace:
                continue
            doomed.add(blob.sha256)
            deletions.append(Deletion("blob", blob.path, blob.size, "no kept generation uses it"))
    for item in snapshot.loose:
        if item.kind == "index" and (item.points_to not in present or item.points_to in doomed):
            deletions.append(Deletion("index", item.path, item.size, "its blob is gone"))
        elif item.kind == "partial" and not item.alive:
            if item.points_to is not None and item.points_to in present and item.points_to not in doomed:
                deletions.append(Deletion("partial", item.path, item.size, "the blob is complete"))
            elif now - item.modified > options.partial_age:
                deletions.append(
                    Deletion("partial", item.path, item.size, f"untouched for {_days(now - item.modified)}")
                )
        elif item.kind == "metadata":
            age = options.metadata_age if options.unused_for is None else options.unused_for
            if now - item.modified > age:
                deletions.append(Deletion("metadata", item.path, item.size, f"cached {_days(now - item.modified)} ago"))
    deletions.sort(key=lambda d: (ORDER.index(d.kind), str(d.path)))
    return GcPlan(tuple(deletions), kept, tuple(warnings), seen)


def _days(seconds: float) -> str:
    if seconds >= DAY:
        return f"{seconds / DAY:.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


# executing (I/O) --------------------------------------------------------------------------------


def execute_plan(plan: GcPlan, cache: Path, *, on_delete: Callable[[Deletion], None] | None = None) -> GcResult:
    """Delete what ``plan`` lists, references first (see the module docstring); tolerant of things already gone."""
    from kmenv.actions.project import environment_at

    deleted = freed = 0
    skipped: list[str] = []
    roots = {r.environment: r for r in read_roots(cache)}
    protected: set[str] | None = None  # read again just before the first blob goes
    for item in plan.deletions:
        if item.kind == "generation" and item.environment is not None and item.generation is not None:
            env = environment_at(item.environment)
            try:
                env.remove(item.generation)
            except UsageError:
                skipped.append(f"{item.path}: in use again")
                continue
        elif item.kind == "root":
            if item.environment is not None and (item.environment / "generations").is_dir():
                skipped.append(f"{item.path}: the environment is back")
                continue
            item.path.unlink(missing_ok=True)
        else:
            if item.kind == "blob":
                if protected is None:
                    protected = _still_protected(cache, plan)
                if item.path.name in protected or "*" in protected:
                    skipped.append(f"{item.path}: an install started using it")
                    continue
            try:
                item.path.unlink()
            except FileNotFoundError:
                continue
        if item.kind == "generation":
            root = roots.get(item.environment) if item.environment else None
            if root is not None:
                forget_generations(root, [item.generation] if item.generation is not None else [])
        deleted += 1
        freed += item.size
        if on_delete is not None:
            on_delete(item)
    _remove_empty_folders(cache)
    return GcResult(deleted, freed, tuple(skipped))


def _still_protected(cache: Path, plan: GcPlan) -> set[str]:
    """Blobs of generations recorded since the plan was made (an install ran meanwhile): they must stay."""
    protected: set[str] = set()
    for root in read_roots(cache):
        if root.damaged:
            return {"*"}  # an unreadable root appeared since the plan: delete no blob
        known = set(plan.seen.get(str(root.environment), ()))
        protected |= root.blobs(set(root.generations) - known)
    return protected


def _remove_empty_folders(cache: Path) -> None:
    for sub in ("blobs/sha256", "index", "http"):
        base = cache / sub
        for dirpath, _dirs, _names in sorted(os.walk(base), key=lambda t: -len(t[0])):
            if Path(dirpath) != base:
                with contextlib.suppress(OSError):  # not empty: something new arrived
                    os.rmdir(dirpath)


def remove_tree(path: Path) -> None:
    """Delete a folder; used by ``cache clean`` after renaming it out of the way."""
    shutil.rmtree(path, ignore_errors=True)


# the whole use case -----------------------------------------------------------------------------


def scan(store: Store, ledger: UsageLedger) -> CacheSnapshot:
    """The cache as it is now, with each environment's last use from the ledger (see :func:`scan_cache`)."""
    try:
        last_use = dict(ledger.last_use_times())
    except Exception:  # the ledger is optional: gc then relies on the roots' own timestamps
        last_use = {}
    return scan_cache(store.root, last_use=last_use)


def plan_collection(store: Store, ledger: UsageLedger, options: GcOptions) -> GcPlan:
    """What ``kmenv gc`` (or ``cache prune``) would delete now; nothing is touched."""
    return plan_gc(scan(store, ledger), options)


def collect_garbage(plan: GcPlan, store: Store, ledger: UsageLedger) -> GcResult | None:
    """Execute ``plan`` (None when it deletes nothing) and record a ``gc`` event with what was freed."""
    result = execute_plan(plan, store.root) if plan.deletions else None
    freed, deleted = (result.freed, result.deleted) if result is not None else (0, 0)
    ledger.record([Event("gc", nbytes=freed, detail={"deleted": deleted})])
    return result
