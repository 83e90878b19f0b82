"""Reads the resolver cases in tests/data/resolve/cases/ (format: tests/data/resolve/README.md) into resolver inputs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kmenv.policy import AllowAll, LicencePolicy, PolicyException, RulePolicy
from kmenv.registry.memory import MemoryRegistry
from kmenv.resolve import Requirement
from kmenv.values.candidates import BaseModelRef, Candidate
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

CASES = Path(__file__).resolve().parent / "data" / "resolve" / "cases"
DEFAULT_LICENCE = "Apache 2.0"


@dataclass
class Case:
    """One scenario: what the registries hold, what the project declares, and what must come out."""

    name: str
    about: str
    held: dict[str, list[Candidate]]
    registries: dict[str, MemoryRegistry]
    requirements: list[Requirement]
    environment: TargetEnvironment
    policy: LicencePolicy
    preferred: dict[str, int] = field(default_factory=dict)
    expect: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    never_fetched: list[str] = field(default_factory=list)


def _versions(spec: str) -> range:
    low, _, high = spec.partition("-")
    return range(int(low), int(high or low) + 1)


def _base(text: str) -> BaseModelRef:
    handle, _, versions = text.partition(" ")
    return BaseModelRef(Handle.parse(handle), versions.strip())


def candidates(registry: str, instances: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[Candidate]:
    """``{"owner/model/fw/var": {"1-3": {"license": ..., "requires": {...}, "base": "handle >=2"}}}`` → candidates."""
    found = []
    for instance, groups in instances.items():
        handle = Handle.parse(instance)
        for span, attrs in groups.items():
            for version in _versions(span):
                found.append(
                    Candidate(
                        handle=handle.with_version(version),
                        registry=registry,
                        license=attrs.get("license", DEFAULT_LICENCE),
                        requires=dict(attrs.get("requires", {})),
                        base=_base(attrs["base"]) if "base" in attrs else None,
                    )
                )
    return found


def requirement(name: str, declared: str | Mapping[str, str]) -> Requirement:
    """``"owner/model/fw/var >=2"`` or ``{"handle": ..., "version": ..., "registry": ...}``."""
    if isinstance(declared, str):
        handle, _, versions = declared.partition(" ")
        declared = {"handle": handle, "version": versions.strip()}
    return Requirement(
        name, Handle.parse(declared["handle"]), declared.get("version", ""), declared.get("registry", "kaggle")
    )


def _policy(raw: Mapping[str, Any] | None) -> LicencePolicy:
    if raw is None:
        return AllowAll()
    return RulePolicy(
        allow=tuple(raw["allow"]) if "allow" in raw else None,
        deny=tuple(raw.get("deny", ())),
        unknown=raw.get("unknown", "deny"),
        exceptions=tuple(
            PolicyException(e["model"], tuple(e["allow"]), e["reason"], e.get("versions", ""))
            for e in raw.get("exceptions", ())
        ),
    )


def _environment(raw: Mapping[str, Any] | None) -> TargetEnvironment:
    if raw is None:
        return TargetEnvironment.unconstrained()
    return TargetEnvironment.from_strings(raw.get("python"), raw.get("packages", {}))


def load(path: Path) -> Case:
    raw = json.loads(path.read_text(encoding="utf-8"))
    stores = raw.get("registries") or {"kaggle": raw["registry"]}
    held = {name: candidates(name, instances) for name, instances in stores.items()}
    return Case(
        name=path.stem,
        about=raw["about"],
        held=held,
        registries={name: MemoryRegistry(name, found) for name, found in held.items()},
        requirements=[requirement(n, d) for n, d in raw["declared"].items()],
        environment=_environment(raw.get("environment")),
        policy=_policy(raw.get("policy")),
        preferred=dict(raw.get("preferred", {})),
        expect=raw.get("expect"),
        warnings=list(raw.get("warnings", [])),
        error=raw.get("error"),
        never_fetched=list(raw.get("never_fetched", [])),
    )


def all_cases() -> list[Path]:
    return sorted(CASES.glob("*.json"))
