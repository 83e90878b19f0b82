"""``kmenv check``: judge every locked model against the licence policy and collect every finding in one pass.

A fine-tune is governed by its own licence AND its base model's: each model's *effective* licence
is its own expression joined with its base chain's, and a fine-tune of a base whose licence forbids
derivatives is a violation of its own (unless an exception for the fine-tune allows that licence).
Findings: ``denied``, ``unknown``, ``unparseable``, ``derivative``, ``exception-used``,
``exception-unused`` and ``licence-changed`` (against a previous lock). Pure: values in, a report out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kmenv.compliance.places import SpecPlaces
from kmenv.lockfile.document import LockedModel, LockFile
from kmenv.policy.base import LicencePolicy, Verdict
from kmenv.policy.hints import either, licence_fixes

__all__ = ["SCHEMA_VERSION", "CheckReport", "Finding", "ModelResult", "check_lock"]

#: Version of the JSON report's shape; bumped on any incompatible change.
SCHEMA_VERSION = 2

Severity = Literal["error", "warning", "note"]
Kind = Literal[
    "denied", "unknown", "unparseable", "derivative", "exception-used", "exception-unused", "licence-changed"
]

#: Every finding kind with its one-line description (SARIF rules, JUnit types, docs).
KINDS: dict[str, str] = {
    "denied": "A locked model's licence is not allowed by the policy",
    "unknown": "A locked model's licence is not one kmenv recognises",
    "unparseable": "A locked model's licence is not a valid licence expression",
    "derivative": "A fine-tune's base model forbids derivatives",
    "exception-used": "A policy exception let a licence through",
    "exception-unused": "A policy exception matched no locked model",
    "licence-changed": "A model's licence changed since the previous lock",
}


@dataclass(frozen=True)
class Finding:
    """One thing ``check`` has to say. ``line``/``column`` point into the spec file (1-based, when known)."""

    kind: Kind
    severity: Severity
    message: str
    model: str | None = None
    version: int | None = None
    hint: str | None = None
    rule: str | None = None
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class ModelResult:
    """One locked model as judged: its licence as published, normalised and in effect, and the verdict.

    ``outcome`` is ``allowed``, ``excepted`` (allowed only through an exception), ``warned`` or
    ``denied``. ``effective`` is the model's expression AND its base chain's. ``bases`` lists the chain.
    """

    name: str
    handle: str
    version: int
    direct: bool
    published: str | None
    expression: str | None
    effective: str | None
    category: str
    flags: tuple[str, ...]
    outcome: Literal["allowed", "excepted", "warned", "denied"]
    rule: str
    reason: str
    bases: tuple[str, ...] = ()
    clarified: bool = False


@dataclass(frozen=True)
class CheckReport:
    """Everything ``check`` found; ``spec_file`` is how reports name kmodels.yaml (relative, for CI)."""

    spec_file: str
    lock_file: str
    models: tuple[ModelResult, ...]
    findings: tuple[Finding, ...]
    table_version: str
    previous: str | None = None

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def passed(self) -> bool:
        return self.errors == 0


def _outcome(verdict: Verdict) -> Literal["allowed", "excepted", "warned", "denied"]:
    if not verdict.allowed:
        return "denied"
    if any(leaf.warning for leaf in verdict.leaves):
        return "warned"
    if any(leaf.exception is not None for leaf in verdict.leaves):
        return "excepted"
    return "allowed"


def _chain(lock: LockFile, name: str) -> tuple[str, ...]:
    """The base models under ``name``, nearest first (cycles cannot occur in a valid lock, but are cut anyway)."""
    found: list[str] = []
    current = lock.models[name].base
    while current is not None and current not in found and current in lock.models:
        found.append(current)
        current = lock.models[current].base
    return tuple(found)


def _position(lock: LockFile, places: SpecPlaces, name: str) -> tuple[int | None, int | None]:
    """A declared model's line; a base model points at the first declared model that pulls it in."""
    seen: set[str] = set()
    current: str | None = name
    while current is not None and current not in seen:
        seen.add(current)
        found = places.model(current)
        if found is not None:
            return found
        parents = lock.models[current].required_by if current in lock.models else []
        current = parents[0] if parents else None
    return places.licences or (None, None)


def _join(parts: Sequence[str | None]) -> str | None:
    present = [p for p in parts if p]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " AND ".join(f"({p})" if " OR " in p else p for p in present)


def _verdict_findings(
    name: str, model: LockedModel, verdict: Verdict, where: tuple[int | None, int | None]
) -> list[Finding]:
    line, column = where
    found: list[Finding] = []
    label = f"{name} {model.version}"
    if verdict.status == "unparseable":
        severity: Severity = "warning" if verdict.allowed else "error"
        found.append(
            Finding(
                "unparseable",
                severity,
                f"{label}: {verdict.reason}",
                name,
                model.version,
                f"add a policy.licenses.clarify entry for {name} stating its licence as an SPDX expression",
                "policy.licenses.clarify",
                line,
                column,
            )
        )
        return found
    unknown = [leaf for leaf in verdict.leaves if leaf.rule == "policy.licenses.unknown"]
    if unknown:
        severity = "error" if any(not leaf.allowed for leaf in unknown) else "warning"
        if all(leaf.allowed and not leaf.warning for leaf in unknown):
            severity = "note"
        found.append(
            Finding(
                "unknown",
                severity,
                f"{label}: {verdict.reason}",
                name,
                model.version,
                f"map the published name to an id in policy.licenses.aliases, or add a policy.licenses.clarify "
                f"entry for {name}",
                "policy.licenses.unknown",
                line,
                column,
            )
        )
    denied = [leaf for leaf in verdict.leaves if not leaf.allowed and leaf.rule != "policy.licenses.unknown"]
    if denied:
        first = denied[0]
        found.append(
            Finding(
                "denied",
                "error",
                f"{label}: {verdict.reason}",
                name,
                model.version,
                either(licence_fixes(first, name)),
                first.rule,
                line,
                column,
            )
        )
    return found


def check_lock(
    lock: LockFile,
    policy: LicencePolicy,
    *,
    places: SpecPlaces | None = None,
    previous: LockFile | None = None,
    previous_source: str | None = None,
    spec_file: str = "kmodels.yaml",
    lock_file: str = "kmodels.lock",
) -> CheckReport:
    """Judge every locked model (and each fine-tune with its base chain); never stops at the first problem."""
    from kmenv.policy.table import licence_table

    places = places or SpecPlaces()
    exceptions = policy.exceptions
    verdicts = {name: policy.evaluate(name, m.full_handle, m.license.published) for name, m in lock.models.items()}
    findings: list[Finding] = []
    results: list[ModelResult] = []
    used: set[int] = set()
    for name, model in lock.models.items():
        verdict = verdicts[name]
        where = _position(lock, places, name)
        bases = _chain(lock, name)
        findings.extend(_verdict_findings(name, model, verdict, where))
        for leaf in verdict.leaves:
            if leaf.exception is not None:
                used.add(leaf.exception)
                findings.append(
                    Finding(
                        "exception-used",
                        "note",
                        f"{name} {model.version}: {leaf.reason}",
                        name,
                        model.version,
                        None,
                        "policy.licenses.exceptions",
                        *where,
                    )
                )
        findings.extend(_derivative_findings(lock, name, model, bases, verdicts, policy, where, used))
        results.append(
            ModelResult(
                name=name,
                handle=model.handle,
                version=model.version,
                direct=model.direct,
                published=model.license.published,
                expression=verdict.expression,
                effective=_join(
                    [verdict.expression or model.license.published]
                    + [verdicts[b].expression or lock.models[b].license.published for b in bases]
                ),
                category=verdict.category,
                flags=tuple(dict.fromkeys(f for leaf in verdict.leaves for f in leaf.flags)),
                outcome=_outcome(verdict),
                rule=verdict.rule,
                reason=verdict.reason,
                bases=bases,
                clarified=verdict.clarified,
            )
        )
    for index, exc in enumerate(exceptions):
        if index in used:
            continue
        line, column = places.exceptions[index] if index < len(places.exceptions) else (None, None)
        versions = f" {exc.versions}" if exc.versions else ""
        findings.append(
            Finding(
                "exception-unused",
                "warning",
                f"exception for {exc.model}{versions} (allow {', '.join(exc.allow)}) matched no locked model",
                exc.model,
                None,
                "remove the exception, or correct its model, versions or allow list",
                "policy.licenses.exceptions",
                line,
                column,
            )
        )
    if previous is not None:
        findings.extend(_changes(lock, previous, places))
    order = {"error": 0, "warning": 1, "note": 2}
    findings.sort(key=lambda f: (order[f.severity], f.model or "", f.kind))
    return CheckReport(
        spec_file=spec_file,
        lock_file=lock_file,
        models=tuple(results),
        findings=tuple(findings),
        table_version=licence_table().version,
        previous=previous_source,
    )


def _derivative_findings(
    lock: LockFile,
    name: str,
    model: LockedModel,
    bases: tuple[str, ...],
    verdicts: dict[str, Verdict],
    policy: LicencePolicy,
    where: tuple[int | None, int | None],
    used: set[int],
) -> list[Finding]:
    """A fine-tune of a base licensed ``no-derivatives`` breaks the base's terms unless an exception covers it."""
    if not bases:
        return []
    found: list[Finding] = []
    for base in bases:
        for leaf in verdicts[base].leaves:
            if "no-derivatives" not in leaf.flags:
                continue
            own = policy.decide(leaf.licence, name, model.full_handle)
            if own is not None and own.exception is not None:
                used.add(own.exception)
                continue
            found.append(
                Finding(
                    "derivative",
                    "error",
                    f"{name} {model.version} is a fine-tune of {base} {lock.models[base].version}, whose licence "
                    f"{leaf.licence} forbids derivatives",
                    name,
                    model.version,
                    f"add an exception for {name} (allow: [{leaf.licence}] with a reason), or use another base",
                    "policy.licenses.exceptions",
                    *where,
                )
            )
    return found


def _changes(lock: LockFile, previous: LockFile, places: SpecPlaces) -> list[Finding]:
    found: list[Finding] = []
    for name, model in lock.models.items():
        before = previous.models.get(name)
        if before is None or before.handle != model.handle:
            continue
        old = before.license.spdx or before.license.published
        new = model.license.spdx or model.license.published
        if old == new:
            continue
        line, column = _position(lock, places, name)
        found.append(
            Finding(
                "licence-changed",
                "warning",
                f"{name}: licence changed from {old or 'none'} (version {before.version}) to {new or 'none'} "
                f"(version {model.version}) since the previous lock",
                name,
                model.version,
                "review the new licence before merging",
                None,
                line,
                column,
            )
        )
    return found
