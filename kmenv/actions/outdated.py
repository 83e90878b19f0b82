"""``kmenv outdated``: per locked model, the version in use, the newest the project could lock, the newest published.

The core, :func:`assess_models`, is pure: it takes the lock, every published version of each locked
instance, the versions a fresh resolution (no preferences) would choose, the environment and the
licence policy, and says why the newest version is out of reach. :func:`outdated_report` does the
I/O around it (registries, the resolver), and :func:`outdated_everywhere` runs it over every
project the usage ledger knows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import KmenvError, NotInstalledError, ResolutionImpossible
from kmenv.lockfile.document import LockedModel, LockFile
from kmenv.policy import LicencePolicy
from kmenv.resolve.eligibility import assess
from kmenv.resolve.interface import version_allowed
from kmenv.values.candidates import Candidate
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

if TYPE_CHECKING:
    from kmenv.actions.project import Project, Runtime
    from kmenv.actions.state import ProjectState

__all__ = [
    "ModelStatus",
    "OutdatedReport",
    "ProjectOutcome",
    "assess_models",
    "outdated_everywhere",
    "outdated_report",
]

#: Why the newest version is not the compatible one; ``constraint`` alone can be lifted by ``upgrade --latest``.
BLOCKERS = ("constraint", "license", "environment", "base model", "other models")


@dataclass(frozen=True)
class ModelStatus:
    """One locked model's standing.

    ``current`` is the locked version; ``compatible`` the newest version the constraints,
    environment and policy allow together (what ``kmenv upgrade`` would pick); ``latest`` the
    newest published. ``reasons`` say, one sentence each, why ``latest`` is not compatible;
    ``blockers`` name their kinds (see :data:`BLOCKERS`). ``licence_change`` is
    ``(current, candidate)`` when the next version (compatible if newer, else latest) is
    published under another licence.
    """

    name: str
    handle: str
    direct: bool
    current: int
    compatible: int | None
    latest: int | None
    current_licence: str | None
    compatible_licence: str | None
    latest_licence: str | None
    reasons: tuple[str, ...] = ()
    blockers: tuple[str, ...] = ()
    licence_change: tuple[str | None, str | None] | None = None

    @property
    def upgradable(self) -> bool:
        """A newer version fits as things are: ``kmenv upgrade NAME`` takes it."""
        return self.compatible is not None and self.compatible > self.current

    @property
    def outdated(self) -> bool:
        """Upgradable, or newer versions are kept out only by the project's own version constraint."""
        held = self.latest is not None and self.latest > max(self.current, self.compatible or 0)
        return self.upgradable or (held and set(self.blockers) == {"constraint"})

    @property
    def status(self) -> str:
        if self.upgradable:
            return "upgradable"
        if self.latest is not None and self.latest > self.current:
            return "constrained" if set(self.blockers) == {"constraint"} else "held back"
        return "up to date"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "handle": self.handle,
            "direct": self.direct,
            "current": self.current,
            "compatible": self.compatible,
            "latest": self.latest,
            "status": self.status,
            "outdated": self.outdated,
            "license": {
                "current": self.current_licence,
                "compatible": self.compatible_licence,
                "latest": self.latest_licence,
            },
            "license_change": (
                None if self.licence_change is None else {"from": self.licence_change[0], "to": self.licence_change[1]}
            ),
            "reasons": list(self.reasons),
            "blockers": list(self.blockers),
        }


@dataclass(frozen=True)
class OutdatedReport:
    """Every locked model's status for one project; ``resolution_problem`` is set when no full resolution exists.

    Without a full resolution, "compatible" falls back to each model's own newest eligible version.
    """

    project: str
    models: tuple[ModelStatus, ...]
    resolution_problem: str | None = None

    @property
    def outdated(self) -> bool:
        return any(m.outdated for m in self.models)

    def as_dict(self) -> dict[str, object]:
        return {
            "project": self.project,
            "outdated": self.outdated,
            "resolution_problem": self.resolution_problem,
            "models": [m.as_dict() for m in self.models],
        }


@dataclass(frozen=True)
class ProjectOutcome:
    """One project of ``--all-projects``: its report, or why it was skipped or failed."""

    project: str
    report: OutdatedReport | None = None
    skipped: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        if self.report is not None:
            return self.report.as_dict()
        return {"project": self.project, "skipped": self.skipped, "error": self.error}


# -- the pure core ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Demand:
    """A version range one model must meet, and who asks for it (for the reason's wording)."""

    versions: str
    source: str


@dataclass
class _Facts:
    environment: TargetEnvironment
    policy: LicencePolicy
    published: Mapping[str, Sequence[Candidate]]
    resolved: Mapping[str, int] | None
    demands: dict[str, list[_Demand]] = field(default_factory=dict)


def _licence(name: str, candidate: Candidate | None, policy: LicencePolicy) -> str | None:
    if candidate is None:
        return None
    return policy.evaluate(name, candidate.handle, candidate.license).spdx or candidate.license


def _find(candidates: Sequence[Candidate], version: int | None) -> Candidate | None:
    return next((c for c in candidates if c.version == version), None)


def _demands(lock: LockFile, declared: Mapping[str, str], facts: _Facts) -> dict[str, list[_Demand]]:
    """The version ranges on each locked model: its declaration, and the base range of each model that needs it.

    A parent's base range is read from the version of the parent that would be locked now.
    """
    found: dict[str, list[_Demand]] = {name: [] for name in lock.models}
    for name, versions in declared.items():
        if name in found and versions:
            found[name].append(_Demand(versions, f"kmodels.yaml models.{name}: {versions}"))
    for name, model in lock.models.items():
        if model.base is None or model.base not in found:
            continue
        version = (facts.resolved or {}).get(name, model.version)
        parent = _find(facts.published.get(name, ()), version) or _find(facts.published.get(name, ()), model.version)
        if parent is not None and parent.base is not None and parent.base.versions:
            found[model.base].append(
                _Demand(parent.base.versions, f"{name} {parent.version} needs {model.base} {parent.base.versions}")
            )
    return found


def _why_not(name: str, model: LockedModel, latest: Candidate, facts: _Facts) -> tuple[list[str], list[str]]:
    """Sentences and blocker kinds that keep ``latest`` out (empty when nothing individual does)."""
    reasons: list[str] = []
    kinds: list[str] = []
    for demand in facts.demands.get(name, ()):
        if not version_allowed(demand.versions, latest.version):
            reasons.append(f"version {latest.version} is excluded by {demand.source}")
            kinds.append("constraint")
    assessment = assess(name, latest, facts.environment, facts.policy)
    for miss in assessment.misses:
        reasons.append(f"version {latest.version} {miss.reason}")
        kinds.append("environment")
    if not assessment.verdict.allowed:
        reasons.append(f"version {latest.version}: {assessment.verdict.reason}")
        kinds.append("license")
    if latest.base is not None and model.base is not None:
        bases = facts.published.get(model.base, ())
        usable = [
            c
            for c in bases
            if version_allowed(latest.base.versions, c.version)
            and assess(model.base, c, facts.environment, facts.policy).eligible
        ]
        if bases and not usable:
            reasons.append(
                f"version {latest.version} needs base model {latest.base}, and no usable version of it exists"
            )
            kinds.append("base model")
    return reasons, kinds


def _newest_eligible(name: str, facts: _Facts) -> int | None:
    """The newest version that meets every range on the model, the environment and the policy, on its own."""
    for candidate in facts.published.get(name, ()):
        if (
            all(version_allowed(d.versions, candidate.version) for d in facts.demands.get(name, ()))
            and assess(name, candidate, facts.environment, facts.policy).eligible
        ):
            return candidate.version
    return None


def assess_models(
    lock: LockFile,
    *,
    declared: Mapping[str, str],
    published: Mapping[str, Sequence[Candidate]],
    resolved: Mapping[str, int] | None,
    environment: TargetEnvironment,
    policy: LicencePolicy,
    names: Sequence[str] = (),
) -> list[ModelStatus]:
    """The status of each locked model (or of ``names``), computed from values only.

    ``declared`` maps a declared model to its version specifier; ``published`` maps a locked
    model to every published version of its locked instance, newest first; ``resolved`` maps
    names to the versions a resolution without preferences chooses (``None`` when none exists).
    """
    facts = _Facts(environment, policy, published, resolved)
    facts.demands = _demands(lock, declared, facts)
    statuses = []
    for name in names or sorted(lock.models):
        model = lock.models[name]
        candidates = published.get(name, ())
        latest = candidates[0] if candidates else None
        compatible = resolved.get(name) if resolved is not None else _newest_eligible(name, facts)
        reasons: list[str] = []
        kinds: list[str] = []
        if latest is not None and latest.version != compatible:
            reasons, kinds = _why_not(name, model, latest, facts)
            if not reasons:
                reasons = [f"version {latest.version} does not fit together with the other locked models"]
                kinds = ["other models"]
        current_licence = model.license.spdx or model.license.published
        compatible_licence = _licence(name, _find(candidates, compatible), policy)
        latest_licence = _licence(name, latest, policy)
        if compatible is not None and compatible != model.version:
            next_licence = compatible_licence
        elif latest is not None and latest.version != model.version:
            next_licence = latest_licence
        else:
            next_licence = current_licence
        change = (current_licence, next_licence) if next_licence != current_licence else None
        statuses.append(
            ModelStatus(
                name=name,
                handle=model.handle,
                direct=model.direct,
                current=model.version,
                compatible=compatible,
                latest=latest.version if latest else None,
                current_licence=current_licence,
                compatible_licence=compatible_licence,
                latest_licence=latest_licence,
                reasons=tuple(reasons),
                blockers=tuple(sorted(set(kinds), key=BLOCKERS.index)),
                licence_change=change,
            )
        )
    return statuses


# -- I/O at the edges ---------------------------------------------------------------------------------------------


def _check_names(lock: LockFile, names: Sequence[str], where: Path) -> None:
    unknown = [n for n in names if n not in lock.models]
    if unknown:
        raise NotInstalledError(
            f"{where.name} has no model named {', '.join(map(repr, unknown))}",
            hint=f"locked models: {', '.join(sorted(lock.models)) or 'none'}",
        )


def outdated_report(
    project: Project, names: Sequence[str] = (), *, state: ProjectState | None = None
) -> OutdatedReport:
    """Compare the project's lock with what its registries publish now (no file is written).

    ``state`` is the project as already read (default: read it now).
    """
    from kmenv.lockfile.inputs import requirements
    from kmenv.resolve import resolve

    state = state or project.open()
    lock = state.require_lock()
    _check_names(lock, names, state.lock_path)
    inputs = state.inputs
    registries = project.registries(inputs)
    published = {
        name: tuple(
            sorted(
                registries[model.registry].versions(Handle.parse(model.handle)),
                key=lambda c: c.version,
                reverse=True,
            )
        )
        for name, model in lock.models.items()
        if model.registry in registries
    }
    resolved: dict[str, int] | None
    problem = None
    try:
        resolution = resolve(requirements(inputs), registries, inputs.environment, inputs.policy, preferred={})
        resolved = {m.name: m.candidate.version for m in resolution.models}
    except ResolutionImpossible as exc:
        resolved, problem = None, exc.message
    statuses = assess_models(
        lock,
        declared={name: m.versions for name, m in inputs.models.items()},
        published=published,
        resolved=resolved,
        environment=inputs.environment,
        policy=inputs.policy,
        names=names,
    )
    return OutdatedReport(str(project.root), tuple(statuses), problem)


def outdated_everywhere(runtime: Runtime, names: Sequence[str] = ()) -> list[ProjectOutcome]:
    """:func:`outdated_report` for every project the usage ledger knows; vanished or broken ones say why."""
    from kmenv.environment.layout import LOCK_FILENAME, SPEC_FILENAME

    outcomes = []
    for folder in runtime.ledger.projects():
        root = Path(folder)
        if not (root / SPEC_FILENAME).is_file():
            outcomes.append(ProjectOutcome(folder, skipped=f"no {SPEC_FILENAME} there any more"))
            continue
        if not (root / LOCK_FILENAME).is_file():
            outcomes.append(ProjectOutcome(folder, skipped=f"no {LOCK_FILENAME} (never locked)"))
            continue
        project = runtime.project(root)
        try:
            state = project.open()
            lock = state.lock
            wanted = [n for n in names if lock is not None and n in lock.models]
            if names and not wanted:
                outcomes.append(ProjectOutcome(folder, skipped="locks none of the named models"))
                continue
            outcomes.append(ProjectOutcome(folder, report=outdated_report(project, wanted, state=state)))
        except KmenvError as exc:
            outcomes.append(ProjectOutcome(folder, error=exc.message))
    return outcomes
