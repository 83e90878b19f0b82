"""Which of a lock's models an install takes: the main ``models:`` and the groups the command line asks for.

One lock holds every group (each locked model lists the groups that need it), so choosing groups is a filter over
the lock and never a new resolution. The flags follow uv's dependency groups: ``--group G`` adds a group to the
default set, ``--only-group G`` takes only the named groups (not ``models:``), ``--all-groups`` takes every group,
and ``--no-group G`` removes one, winning over the others. Pure: names in, names out.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from kmenv.errors import UsageError
from kmenv.lockfile.document import DEFAULT_GROUP, LockedModel, LockFile

__all__ = ["DEFAULT_SELECTION", "GroupRequest", "describe", "lock_groups", "select_groups", "selected_models"]

#: What a plain ``kmenv install`` takes: the models under ``models:`` and whatever they pull in.
DEFAULT_SELECTION: tuple[str, ...] = (DEFAULT_GROUP,)


@dataclass(frozen=True)
class GroupRequest:
    """The group flags of one command: ``include`` (``--group``), ``only`` (``--only-group``), ``exclude``
    (``--no-group``) and ``all_groups`` (``--all-groups``). The empty request is a plain install.

    ``current``: keep the groups the environment holds now (those the lock still has), for commands that rebuild
    an environment without being asked to change its groups (``upgrade``, ``validate --repair``).
    """

    include: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    all_groups: bool = False
    current: bool = False

    @property
    def is_default(self) -> bool:
        return not (self.include or self.only or self.exclude or self.all_groups or self.current)


def lock_groups(lock: LockFile) -> tuple[str, ...]:
    """Every group the lock knows, sorted (declared ones, even when empty, and any a model names)."""
    named = {group for model in lock.models.values() for group in model.groups}
    return tuple(sorted((set(lock.inputs.groups) | named) - {DEFAULT_GROUP}))


def _check_known(names: Iterable[str], known: tuple[str, ...], flag: str) -> None:
    for name in names:
        if name == DEFAULT_GROUP or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        listing = ", ".join(known) if known else "none (kmodels.yaml declares no groups:)"
        hint = f"did you mean {close[0]!r}?" if close else f"declared groups: {listing}"
        raise UsageError(f"{flag} {name}: kmodels.lock has no group {name!r}", hint=hint)


def select_groups(
    request: GroupRequest, known: tuple[str, ...], installed: Iterable[str] = DEFAULT_SELECTION
) -> tuple[str, ...]:
    """The groups ``request`` takes out of ``known`` (plus ``default`` for ``models:``), sorted.

    A name that is no group is a usage error with the groups there are; ``default`` names ``models:`` itself. So is
    a request that leaves nothing. ``installed`` are the groups the environment holds, for ``request.current``.
    """
    if request.current:
        kept = tuple(sorted({g for g in installed if g == DEFAULT_GROUP or g in known}))
        return kept or DEFAULT_SELECTION
    _check_known(request.include, known, "--group")
    _check_known(request.only, known, "--only-group")
    _check_known(request.exclude, known, "--no-group")
    if request.only:
        chosen = set(request.only)
    else:
        chosen = {DEFAULT_GROUP, *request.include, *(known if request.all_groups else ())}
    left = tuple(sorted(chosen - set(request.exclude)))
    if not left:
        raise UsageError("--no-group leaves no group to install", hint="drop a --no-group, or name another group")
    return left


def selected_models(lock: LockFile, groups: Iterable[str]) -> dict[str, LockedModel]:
    """The locked models some chosen group needs, by name."""
    chosen = set(groups)
    return {name: model for name, model in lock.models.items() if chosen.intersection(model.groups)}


def describe(groups: Iterable[str]) -> str:
    """``"with groups: eval"`` or ``"only groups: eval"`` when more or other than ``models:`` was chosen, else
    ``""``; for the summary line of an install."""
    chosen = sorted(groups)
    extra = ", ".join(g for g in chosen if g != DEFAULT_GROUP)
    if DEFAULT_GROUP not in chosen:
        return f"only groups: {extra or 'none'}"
    return f"with groups: {extra}" if extra else ""
