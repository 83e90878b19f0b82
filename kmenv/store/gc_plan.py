"""What ``kmenv gc`` and ``kmenv cache prune`` delete, decided without touching the disk.

:func:`plan_gc` turns a :class:`CacheSnapshot` (read by :mod:`kmenv.store.gc_scan`) and :class:`GcOptions`
into a frozen :class:`GcPlan`, which :mod:`kmenv.store.gc_delete` executes. Being pure, a plan can be shown
(``--dry-run``) and tested without a disk. It lives in the store because it decides about the store's files
and reads the store's roots.

A blob is protected when a kept generation of a live environment (see
:mod:`kmenv.store.roots`) uses it, when a file of a ``kmenv download`` folder that still exists was
copied from it, when it was written or linked within ``grace`` seconds (an install may be about to
record it), or when any root is unreadable. The last two hold back blobs nothing uses; the plan says
how many and why (:attr:`GcPlan.held_back`), so ``cache info`` can say it too.
Deletions are listed in :data:`ORDER`: references before what they reference.

With a size budget (:attr:`GcOptions.cache_max`) unprotected blobs are a cache rather than garbage: they go
only as far as the budget needs, least recently used first (:mod:`kmenv.store.gc_budget` picks them). That is what
``kmenv install`` runs after it switches, limited to its own environment's generations (:attr:`GcOptions.only`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kmenv.errors import UsageError
from kmenv.store.gc_budget import choose_evictions
from kmenv.store.roots import DownloadRoot, Root

__all__ = [
    "GRACE",
    "UNREADABLE_ROOT",
    "BlobFile",
    "CacheSnapshot",
    "Deletion",
    "DownloadSnapshot",
    "EnvironmentSnapshot",
    "GcOptions",
    "GcPlan",
    "LooseFile",
    "parse_duration",
    "plan_gc",
]

DAY = 86400.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": DAY, "s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}
#: Why an unused blob stays: changed within the grace period, or some root cannot be read.
GRACE = "grace"
UNREADABLE_ROOT = "unreadable_root"
#: Order of execution: references before what they reference.
ORDER = ("generation", "root", "download", "index", "blob", "partial", "metadata")


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
class DownloadSnapshot:
    """One folder written by ``kmenv download``, as found on disk: ``exists`` is whether it is still there."""

    root: DownloadRoot
    exists: bool


@dataclass(frozen=True)
class CacheSnapshot:
    """Everything gc needs to decide, read at ``now``."""

    cache: Path
    now: float
    blobs: tuple[BlobFile, ...]
    loose: tuple[LooseFile, ...]
    environments: tuple[EnvironmentSnapshot, ...]
    downloads: tuple[DownloadSnapshot, ...] = ()
    #: sha256 → the last time (UNIX) something used it, as the usage ledger knows (see :mod:`kmenv.actions.gc`).
    last_use: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GcOptions:
    """What may go.

    ``keep``: generations kept per environment (the newest ones; the one in use always stays);
    ``None`` keeps them all (``cache prune``). ``unused_for``: an environment not used for this
    many seconds keeps only its current generation and no longer protects any blob.
    ``partial_age``/``metadata_age``: seconds after which partial downloads / cached registry
    answers count as stale. ``grace``: blobs changed more recently are never deleted.
    ``recorded_keep``: an environment whose root records its project's ``keep`` keeps that many instead.
    ``cache_max``: a size budget in bytes: unprotected blobs go only while the store is over it, least recently
    used first (None: every unprotected blob goes). ``only``: just these environments may lose generations.
    ``tidy``: also drop records of vanished environments and downloads, stale partials and old metadata.
    """

    keep: int | None = 2
    unused_for: float | None = None
    partial_age: float = 7 * DAY
    metadata_age: float = 30 * DAY
    grace: float = 3600.0
    recorded_keep: bool = False
    cache_max: int | None = None
    only: frozenset[Path] | None = None
    tidy: bool = True


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
    #: blobs nothing uses that still stay, by reason (:data:`GRACE` or :data:`UNREADABLE_ROOT`) → (count, bytes).
    held_back: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: with a size budget: (budget, blob bytes before the plan, blob bytes after it), else None.
    budget: tuple[int, int, int] | None = None

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
            "held_back": {k: {"count": c, "bytes": b} for k, (c, b) in self.held_back.items()},
            "budget": None
            if self.budget is None
            else dict(zip(("cache_max", "blob_bytes", "blob_bytes_after"), self.budget, strict=True)),
        }


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
            if options.tidy:
                deletions.append(
                    Deletion("root", root.file, 0, f"environment {root.environment} no longer exists", root.environment)
                )
            continue
        stale = options.unused_for is not None and now - env.last_use > options.unused_for
        numbers = sorted(env.generations)
        wanted = root.keep if options.recorded_keep and root.keep is not None else options.keep
        if (wanted is None and not stale) or (options.only is not None and root.environment not in options.only):
            keep = set(numbers)
        else:
            count = 1 if stale else max(wanted or 1, 1)
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
    for download in snapshot.downloads:
        dl = download.root
        if dl.damaged:
            protect_everything = True
            warnings.append(f"cannot read {dl.file}: no blob is deleted (delete that file if it is garbage)")
        elif not download.exists and options.tidy:
            deletions.append(
                Deletion("download", dl.file, 0, f"download folder {dl.folder} no longer exists", dl.folder)
            )
        else:
            protected |= dl.blobs()
    present = {b.sha256 for b in snapshot.blobs}
    held: dict[str, tuple[int, int]] = {}
    unused: list[BlobFile] = []
    for blob in snapshot.blobs:
        if blob.sha256 in protected:
            continue
        reason = UNREADABLE_ROOT if protect_everything else GRACE if now - blob.changed < options.grace else None
        if reason is not None:
            count, size = held.get(reason, (0, 0))
            held[reason] = (count + 1, size + blob.size)
            continue
        unused.append(blob)
    budget = None
    if options.cache_max is None:
        doomed_blobs = [Deletion("blob", b.path, b.size, "no kept generation or download uses it") for b in unused]
    else:
        total = sum(b.size for b in snapshot.blobs)
        evicted, left = choose_evictions(total, unused, snapshot.last_use, options.cache_max)
        limit = _size(options.cache_max)
        doomed_blobs = [
            Deletion("blob", b.path, b.size, f"least recently used (last used {_days(now - used)} ago), over {limit}")
            for b, used in evicted
        ]
        budget = (options.cache_max, total, left)
        if left > options.cache_max:
            warnings.append(
                f"the store holds {_size(left)} that kept generations and download folders need (or that changed "
                f"within the last hour), more than the {limit} budget"
            )
    deletions += doomed_blobs
    doomed = {d.path.name for d in doomed_blobs}
    for item in snapshot.loose:
        if not options.tidy and item.kind != "index":
            continue
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
    return GcPlan(tuple(deletions), kept, tuple(warnings), seen, held, budget)


def _size(n: int) -> str:
    from kmenv.values.candidates import format_size

    return format_size(n)


def _days(seconds: float) -> str:
    if seconds >= DAY:
        return f"{seconds / DAY:.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"
