"""Reduce a parsed kmodels.yaml to resolver inputs: requirements, environment, licence policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kmenv.lockfile.document import DeclaredInputs, InputModel, InputRegistry
from kmenv.policy import AllowAll, Clarification, LicencePolicy, PolicyException, RulePolicy
from kmenv.values.target import TargetEnvironment
from kmenv.values.urls import without_userinfo

if TYPE_CHECKING:
    from kmenv.resolve import Requirement
    from kmenv.spec.document import ProjectSpec

__all__ = ["Detected", "declared_inputs", "requirements"]


#: What ``environment.detect: true`` reads from the running interpreter: its Python version and installed packages.
Detected = tuple[str, Mapping[str, str]]


def _environment(spec: ProjectSpec, detected: Detected | None) -> tuple[TargetEnvironment, dict[str, Any]]:
    """The declared environment (versions already validated by the spec), plus the interpreter's when detected."""
    env = spec.environment
    if env is None:
        return TargetEnvironment.unconstrained(), {}
    python = env.python
    packages: dict[str, str] = {k: str(v) for k, v in (env.packages or {}).items()}
    record: dict[str, Any] = {"python": python, "packages": dict(sorted(packages.items())), "detect": env.detect}
    if env.detect and detected is not None:
        detected_python, installed = detected
        # A distribution with a non-PEP 440 version cannot satisfy a specifier anyway: leave it out.
        usable = {name: v for name, v in installed.items() if _is_version(v)}
        packages = {**usable, **packages}
        python = python or detected_python
    return TargetEnvironment.from_strings(python, packages), record


def _is_version(text: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _policy(spec: ProjectSpec) -> LicencePolicy:
    licences = spec.policy.licenses if spec.policy is not None else None
    if licences is None:
        return AllowAll()
    return RulePolicy(
        allow=tuple(licences.allow) if licences.allow is not None else None,
        deny=tuple(licences.deny),
        unknown=licences.unknown,
        exceptions=tuple(
            PolicyException(model=e.model, allow=tuple(e.allow), reason=e.reason, versions=e.versions or "")
            for e in licences.exceptions
        ),
        allow_categories=tuple(licences.allow_categories) if licences.allow_categories is not None else None,
        deny_categories=tuple(licences.deny_categories),
        clarify=tuple(
            Clarification(model=c.model, expression=c.expression, versions=c.versions or "") for c in licences.clarify
        ),
        aliases=tuple(sorted(licences.aliases.items())),
    )


def declared_inputs(spec: ProjectSpec, *, detected: Detected | None = None) -> DeclaredInputs:
    """Everything resolution and staleness depend on, in stable order.

    ``detected`` is the running interpreter's (Python version, packages), which the caller reads when the spec
    says ``environment.detect: true``; declared versions win over detected ones. Without it nothing is detected.
    """
    environment, record = _environment(spec, detected)
    return DeclaredInputs(
        models={
            d.name: InputModel(
                handle=str(d.handle),
                versions=d.versions,
                registry=d.registry,
                files=list(d.files) if d.files is not None else None,
                group=d.group,
            )
            for d in spec.declared_models()
        },
        groups=tuple(sorted(spec.groups)),
        registries={
            r.name: InputRegistry(type=r.type, url=without_userinfo(r.url) if r.url else None)
            for r in spec.declared_registries()
        },
        environment=environment,
        environment_record=record,
        policy=_policy(spec),
        locations={r.name: r.url for r in spec.declared_registries() if r.url},
    )


def requirements(inputs: DeclaredInputs) -> list[Requirement]:
    """The resolver's requirements for the declared models."""
    from kmenv.resolve import Requirement
    from kmenv.values.handles import Handle

    return [
        Requirement(name=name, handle=Handle.parse(m.handle), versions=m.versions, registry=m.registry)
        for name, m in sorted(inputs.models.items())
    ]
