"""Reduce a parsed kmodels.yaml to resolver inputs: requirements, environment, licence policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kmenv.lockfile.document import DeclaredInputs, InputModel, InputRegistry
from kmenv.policy import AllowAll, Clarification, LicencePolicy, PolicyException, RulePolicy
from kmenv.values.target import TargetEnvironment

if TYPE_CHECKING:
    from kmenv.resolve import Requirement
    from kmenv.spec.document import ProjectSpec

__all__ = ["declared_inputs", "requirements"]


def _environment(spec: ProjectSpec) -> tuple[TargetEnvironment, dict[str, Any]]:
    """The declared environment (versions already validated by the spec), plus the interpreter's when detected."""
    env = spec.environment
    if env is None:
        return TargetEnvironment.unconstrained(), {}
    python = env.python
    packages: dict[str, str] = {k: str(v) for k, v in (env.packages or {}).items()}
    record: dict[str, Any] = {"python": python, "packages": dict(sorted(packages.items())), "detect": env.detect}
    if env.detect:
        from kmenv.environment.interpreter import installed_packages, python_version

        # A distribution with a non-PEP 440 version cannot satisfy a specifier anyway: leave it out.
        detected = {name: v for name, v in installed_packages().items() if _is_version(v)}
        packages = {**detected, **packages}
        python = python or python_version()
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


def declared_inputs(spec: ProjectSpec) -> DeclaredInputs:
    """Everything resolution and staleness depend on, in stable order."""
    environment, record = _environment(spec)
    return DeclaredInputs(
        models={
            d.name: InputModel(
                handle=str(d.handle),
                versions=d.versions,
                registry=d.registry,
                files=list(d.files) if d.files is not None else None,
            )
            for d in spec.declared_models()
        },
        registries={r.name: InputRegistry(type=r.type, url=r.url) for r in spec.declared_registries()},
        environment=environment,
        environment_record=record,
        policy=_policy(spec),
    )


def requirements(inputs: DeclaredInputs) -> list[Requirement]:
    """The resolver's requirements for the declared models."""
    from kmenv.resolve import Requirement
    from kmenv.values.handles import Handle

    return [
        Requirement(name=name, handle=Handle.parse(m.handle), versions=m.versions, registry=m.registry)
        for name, m in sorted(inputs.models.items())
    ]
