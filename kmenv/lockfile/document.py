"""``kmodels.lock``: the resolved, hashed, reproducible result, and when it goes stale.

Pure: text in, values out. The lock is JSON with sorted keys so equal inputs give equal bytes
and diffs stay small. It never holds a credential or a signed URL.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kmenv.errors import HandleError, LockfileError, UsageError
from kmenv.lockfile.limits import MAX_LOCK_BYTES
from kmenv.policy.base import LicencePolicy
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.documents import DocumentRefused, JsonBounds, parse_json
from kmenv.values.handles import Handle
from kmenv.values.paths import model_name_problem, relative_path_problem
from kmenv.values.target import TargetEnvironment
from kmenv.values.wording import counted

__all__ = [
    "DEFAULT_GROUP",
    "LOCK_BOUNDS",
    "LOCK_VERSION",
    "DeclaredInputs",
    "LockFile",
    "LockedFile",
    "LockedModel",
    "build_lock",
    "dumps_lock",
    "locked_candidate",
    "parse_lock",
    "select_files",
    "stale_reasons",
]

LOCK_VERSION = 1
#: The group of the models declared under ``models:`` (the ones a plain ``kmenv install`` installs).
DEFAULT_GROUP = "default"

#: How the lock's JSON is bounded when read (:mod:`kmenv.lockfile.limits` holds the byte cap).
LOCK_BOUNDS = JsonBounds(MAX_LOCK_BYTES)
_SHA256 = r"^[0-9a-f]{64}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LockedLicence(_Frozen):
    """The licence as the source published it and as the policy normalised it."""

    published: str | None = Field(description="licence string as the registry publishes it")
    spdx: str | None = Field(description="SPDX id or LicenseRef-kmenv-… id; null when unknown")


class LockedFile(_Frozen):
    """One file to materialise; ``path`` is relative to the model's folder."""

    path: str
    size: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=_SHA256)]
    digests: dict[str, str] = Field(default_factory=dict, description="other digests the source publishes")


class LockedModel(_Frozen):
    """One chosen model version; ``base``/``required-by`` are the fine-tune edges by name."""

    handle: str = Field(description="owner/model/framework/variation")
    version: Annotated[int, Field(ge=1)]
    registry: str
    direct: bool = Field(description="declared in kmodels.yaml (false: pulled in as a base model)")
    license: LockedLicence
    framework: str
    requires: dict[str, str] = Field(default_factory=dict)
    base: str | None = None
    required_by: list[str] = Field(default_factory=list, alias="required-by")
    groups: list[str] = Field(
        default_factory=lambda: [DEFAULT_GROUP],
        description='the groups that need this model, sorted; "default" is models: (written only when not just that)',
    )
    files: list[LockedFile]

    @property
    def full_handle(self) -> Handle:
        return Handle.parse(self.handle).with_version(self.version)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


class InputModel(_Frozen):
    handle: str
    versions: str
    registry: str
    files: list[str] | None = None
    group: str | None = Field(None, description="the groups: entry declaring it; absent for models:")


class InputRegistry(_Frozen):
    type: str
    url: str | None = None


class LockInputs(_Frozen):
    """A copy of the declared inputs that affect resolution, for review and change detection."""

    models: dict[str, InputModel]
    registries: dict[str, InputRegistry]
    environment: dict[str, Any]
    policy: dict[str, Any]
    groups: list[str] = Field(default_factory=list, description="every declared group, sorted (written when any)")


class LockFile(_Frozen):
    """The whole ``kmodels.lock`` document."""

    lock_version: Literal[1] = Field(alias="lock-version")
    inputs: LockInputs
    models: dict[str, LockedModel]


@dataclass(frozen=True)
class DeclaredInputs:
    """What the project declares, reduced to what resolution depends on.

    ``registries`` hold each URL without any login (:func:`kmenv.values.urls.without_userinfo`): they
    are written into the lock. ``locations`` hold the URLs as written, for opening the registries only.
    """

    models: Mapping[str, InputModel]
    registries: Mapping[str, InputRegistry]
    environment: TargetEnvironment
    environment_record: Mapping[str, Any]
    policy: LicencePolicy
    groups: tuple[str, ...] = ()
    locations: Mapping[str, str] = field(default_factory=dict)

    def to_lock_inputs(self) -> LockInputs:
        return LockInputs(
            models=dict(sorted(self.models.items())),
            registries=dict(sorted(self.registries.items())),
            environment=dict(self.environment_record),
            policy=self.policy.fingerprint(),
            groups=sorted(self.groups),
        )


def select_files(
    name: str, candidate: Candidate, files: Sequence[FileEntry], patterns: Sequence[str] | None
) -> list[FileEntry]:
    """The files a declaration's ``files:`` globs select (all when ``patterns`` is None).

    A glob that matches nothing is an input error: it is almost always a typo.
    """
    if patterns is None:
        return sorted(files, key=lambda f: f.path)
    chosen: dict[str, FileEntry] = {}
    for pattern in patterns:
        hits = [f for f in files if fnmatch.fnmatchcase(f.path, pattern)]
        if not hits:
            listing = ", ".join(f.path for f in files[:8]) + (", …" if len(files) > 8 else "")
            raise UsageError(
                f"models.{name}.files: {pattern!r} matches no file of {candidate.handle}",
                hint=f"its files are: {listing}",
            )
        chosen.update((f.path, f) for f in hits)
    return [chosen[p] for p in sorted(chosen)]


def build_lock(
    inputs: DeclaredInputs,
    chosen: Sequence[tuple[str, Candidate, bool, str | None, Sequence[str], str | None, Sequence[FileEntry]]],
) -> LockFile:
    """Assemble the lock from resolved models.

    Each item is ``(name, candidate, direct, base_name, required_by, spdx, files)``. A model's groups are its
    declaration's, and a base model's are those of every model it is the base of.
    """
    groups = _needed_by(inputs, {name: (direct, required_by) for name, _c, direct, _b, required_by, _s, _f in chosen})
    models: dict[str, LockedModel] = {}
    for name, cand, direct, base, required_by, spdx, files in chosen:
        models[name] = LockedModel(
            handle=str(cand.handle.unversioned()),
            version=cand.version,
            registry=cand.registry,
            direct=direct,
            license=LockedLicence(published=cand.license, spdx=spdx),
            framework=cand.framework,
            requires=dict(sorted(cand.requires.items())),
            base=base,
            required_by=sorted(required_by),
            groups=groups[name],
            files=[
                LockedFile(path=f.path, size=f.size, sha256=f.sha256, digests=dict(sorted(f.digests.items())))
                for f in sorted(files, key=lambda f: f.path)
            ],
        )
    return LockFile(lock_version=LOCK_VERSION, inputs=inputs.to_lock_inputs(), models=dict(sorted(models.items())))


def _needed_by(inputs: DeclaredInputs, edges: Mapping[str, tuple[bool, Sequence[str]]]) -> dict[str, list[str]]:
    """Model name → the sorted groups needing it: its own declaration's, plus those of every fine-tune built on it."""
    found: dict[str, frozenset[str]] = {}

    def of(name: str, visiting: frozenset[str]) -> frozenset[str]:
        if name in found:
            return found[name]
        direct, required_by = edges.get(name, (False, ()))
        declared = inputs.models.get(name)
        own = {declared.group or DEFAULT_GROUP} if direct and declared is not None else set()
        for parent in required_by:
            if parent not in visiting:  # a cycle cannot be locked; never recurse forever on one
                own |= of(parent, visiting | {name})
        found[name] = frozenset(own or {DEFAULT_GROUP})
        return found[name]

    return {name: sorted(of(name, frozenset())) for name in edges}


def dumps_lock(lock: LockFile) -> str:
    """Deterministic text: sorted keys, two-space indent, trailing newline.

    Group fields are written only where they say something (a model some group needs, a project with groups), so
    the lock of a project without groups reads as it always did.
    """
    data = lock.model_dump(by_alias=True, mode="json")
    for entry in data["models"].values():
        if entry["groups"] == [DEFAULT_GROUP]:
            del entry["groups"]
    for entry in data["inputs"]["models"].values():
        if entry["group"] is None:
            del entry["group"]
    if not data["inputs"]["groups"]:
        del data["inputs"]["groups"]
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _fix_hint(filename: str) -> str:
    return f"regenerate it with `kmenv lock` (or restore {filename} from version control)"


def parse_lock(text: str | bytes, filename: str = "kmodels.lock") -> LockFile:
    """Parse and check a lock; every problem raises :class:`LockfileError` naming the place.

    The JSON is read within :data:`LOCK_BOUNDS` (size, depth, number length; a key given twice, such as a model
    locked twice, is refused), then checked against the schema and for consistency.
    """
    try:
        data = parse_json(text, LOCK_BOUNDS)
    except DocumentRefused as refused:
        raise LockfileError(f"{refused.place(filename)}: {refused.message}", hint=_fix_hint(filename)) from None
    if isinstance(data, dict) and data.get("lock-version") not in (None, LOCK_VERSION):
        raise LockfileError(
            f"{filename}: lock-version {data.get('lock-version')!r} is not supported "
            f"by this kmenv (expects {LOCK_VERSION})",
            hint="upgrade kmenv, or regenerate the lock with `kmenv lock`",
        )
    try:
        lock = LockFile.model_validate(data)
    except ValidationError as exc:
        found = [f"{filename}: {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()]
        if len(found) == 1:
            raise LockfileError(found[0], hint=_fix_hint(filename)) from None
        raise LockfileError(
            f"{filename}: {counted(len(found), 'problem')}", hint=_fix_hint(filename), details=found
        ) from None
    problems = _consistency_problems(lock)
    if len(problems) == 1:
        raise LockfileError(f"{filename}: {problems[0]}", hint=_fix_hint(filename))
    if problems:
        raise LockfileError(
            f"{filename}: {counted(len(problems), 'problem')}",
            hint=_fix_hint(filename),
            details=[f"{filename}: {p}" for p in problems],
        )
    return lock


def _consistency_problems(lock: LockFile) -> list[str]:
    """Checks a schema cannot express: edges point at entries, paths stay inside, names agree."""
    problems: list[str] = []
    for where, names in (("inputs.models", lock.inputs.models), ("models", lock.models)):
        for name in names:
            bad_name = model_name_problem(name)
            if bad_name is not None:
                problems.append(f"{where}.{name}: {bad_name}")
    for name, model in lock.models.items():
        where = f"models.{name}"
        if model.registry not in lock.inputs.registries:
            problems.append(f"{where}.registry: {model.registry!r} is not among inputs.registries")
        try:
            handle = Handle.parse(model.handle)
        except HandleError as exc:
            problems.append(f"{where}.handle: {exc}")
            continue
        if handle.is_partial or handle.version is not None:
            problems.append(f"{where}.handle: {model.handle!r} must be a full, unversioned handle")
        elif handle.framework != model.framework:
            problems.append(f"{where}.framework: {model.framework!r} disagrees with the handle {model.handle!r}")
        if model.direct and name not in lock.inputs.models:
            problems.append(f"{where}: marked direct but not among inputs.models")
        if model.base is not None and model.base not in lock.models:
            problems.append(f"{where}.base: {model.base!r} is not a locked model")
        for parent in model.required_by:
            if parent not in lock.models or lock.models[parent].base != name:
                problems.append(f"{where}.required-by: {parent!r} does not name {name!r} as its base")
        if not model.direct and not model.required_by:
            problems.append(f"{where}: neither declared nor required by another model")
        unknown_groups = sorted(set(model.groups) - {DEFAULT_GROUP, *lock.inputs.groups})
        if unknown_groups or not model.groups:
            problems.append(f"{where}.groups: {model.groups!r} names no declared group")
        seen: set[str] = set()
        for i, f in enumerate(model.files):
            bad_path = relative_path_problem(f.path)
            if bad_path is not None:
                problems.append(f"{where}.files.{i}.path: {f.path!r} is not a safe relative path: {bad_path}")
            if f.path in seen:
                problems.append(f"{where}.files.{i}.path: {f.path!r} appears twice")
            seen.add(f.path)
    for name in lock.inputs.models:
        if name not in lock.models or not lock.models[name].direct:
            problems.append(f"inputs.models.{name}: declared but not locked")
    return problems


def locked_candidate(model: LockedModel) -> Candidate:
    """The lock entry as a candidate (for fetching its files without the registry's metadata)."""
    return Candidate(
        handle=model.full_handle,
        registry=model.registry,
        license=model.license.published,
        requires=dict(model.requires),
        base=None,
        files=tuple(FileEntry(path=f.path, size=f.size, sha256=f.sha256, digests=dict(f.digests)) for f in model.files),
    )


def _group_text(group: str | None) -> str:
    return "models:" if group is None else f"group {group!r}"


def stale_reasons(lock: LockFile, inputs: DeclaredInputs) -> list[str]:
    """Why the declared inputs no longer admit what is locked; empty when the lock still fits.

    Editing a constraint that still admits the locked version is not staleness: the lock
    keeps its versions and only re-resolution (``kmenv lock``/``upgrade``) would move them.
    """
    reasons: list[str] = []
    locked_regs = lock.inputs.registries
    for name, reg in inputs.registries.items():
        if locked_regs.get(name) != reg:
            reasons.append(f"registry {name!r} changed")
    for name in locked_regs.keys() - inputs.registries.keys():
        reasons.append(f"registry {name!r} was removed")

    for name, declared in inputs.models.items():
        model = lock.models.get(name)
        if model is None or not model.direct:
            reasons.append(f"model {name!r} was added")
            continue
        if declared.registry != model.registry:
            reasons.append(f"model {name!r} now comes from registry {declared.registry!r}")
        if not Handle.parse(declared.handle).admits(Handle.parse(model.handle)):
            reasons.append(f"model {name!r} now declares {declared.handle}, locked is {model.handle}")
        try:
            admits = SpecifierSet(declared.versions).contains(str(model.version))
        except InvalidSpecifier:
            admits = False
        if not admits:
            reasons.append(f"model {name!r}: version {model.version} no longer satisfies {declared.versions!r}")
        locked_input = lock.inputs.models.get(name)
        if (locked_input.files if locked_input else None) != declared.files:
            reasons.append(f"model {name!r}: files selection changed")
        was = locked_input.group if locked_input else None
        if was != declared.group:
            reasons.append(f"model {name!r} moved from {_group_text(was)} to {_group_text(declared.group)}")
    for name, model in lock.models.items():
        if model.direct and name not in inputs.models:
            reasons.append(f"model {name!r} was removed")
    for group in sorted(set(inputs.groups) ^ set(lock.inputs.groups)):
        change = "added" if group in inputs.groups else "removed"
        reasons.append(f"group {group!r} was {change}")

    for name, model in lock.models.items():
        for unmet in inputs.environment.unmet(model.requires):
            reasons.append(f"model {name!r} {unmet}")
        verdict = inputs.policy.evaluate(name, model.full_handle, model.license.published)
        if not verdict.allowed:
            reasons.append(f"model {name!r}: {verdict.reason}")
    return reasons
