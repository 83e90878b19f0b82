"""The Python environment a project runs in, and whether a model version's requirements fit it.

Pure: the caller supplies the package versions (declared in kmodels.yaml, or read from the
running interpreter by :mod:`kmenv.environment.interpreter`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = ["FRAMEWORK_LIBRARIES", "TargetEnvironment", "framework_requirements"]

#: What each framework needs from the Python environment; a version's own ``requires``
#: adds to (and for the same library, narrows) this. Frameworks absent here need nothing.
FRAMEWORK_LIBRARIES: Mapping[str, Mapping[str, str]] = {
    "pyTorch": {"torch": ""},
    "transformers": {"transformers": "", "torch": ""},
    "keras": {"keras": ">=3"},
    "tensorFlow1": {"tensorflow": "<2"},
    "tensorFlow2": {"tensorflow": ">=2"},
    "tfLite": {"tensorflow": ">=2"},
    "jax": {"jax": ""},
    "flax": {"flax": "", "jax": ""},
    "onnx": {"onnxruntime": ""},
    "scikitLearn": {"scikit-learn": ""},
    "mxnet": {"mxnet": ""},
    "gguf": {},
    "ggml": {},
    "other": {},
    "api": {},
}


def framework_requirements(
    framework: str,
    extra: Mapping[str, str] | None = None,
    table: Mapping[str, Mapping[str, str]] = FRAMEWORK_LIBRARIES,
) -> dict[str, str]:
    """The framework's implied requirements merged with a version's own (specifiers joined).

    The one rule every registry applies to its candidates; ``table`` is the run's framework → library
    table (the built-in one with the user's ``frameworks.json``, see :mod:`kmenv.registry.frameworks`).
    """
    merged: dict[str, str] = {canonicalize_name(k): v for k, v in table.get(framework, {}).items()}
    for name, spec in (extra or {}).items():
        key = "python" if name.lower() == "python" else canonicalize_name(name)
        merged[key] = ",".join(s for s in (merged.get(key, ""), spec) if s)
    return dict(sorted(merged.items()))


@dataclass(frozen=True)
class TargetEnvironment:
    """Library versions a project runs with.

    ``packages`` maps canonical distribution names to versions. ``constrained`` is False when
    the project declared no environment at all: then requirements are recorded but not
    checked, because there is nothing to check them against.
    """

    python: Version | None = None
    packages: Mapping[str, Version] = field(default_factory=dict)
    constrained: bool = True

    @classmethod
    def unconstrained(cls) -> TargetEnvironment:
        return cls(constrained=False)

    @classmethod
    def from_strings(cls, python: str | None, packages: Mapping[str, str]) -> TargetEnvironment:
        """Build from declared strings; raises ``ValueError`` naming the bad version."""
        try:
            py = Version(python) if python else None
        except InvalidVersion:
            raise ValueError(f"python version {python!r} is not a version") from None
        parsed: dict[str, Version] = {}
        for name, text in packages.items():
            try:
                parsed[canonicalize_name(name)] = Version(str(text))
            except InvalidVersion:
                raise ValueError(f"package {name!r} has version {text!r}, which is not a version") from None
        return cls(py, dict(sorted(parsed.items())))

    def unmet(self, requires: Mapping[str, str]) -> list[str]:
        """Every requirement the environment does not meet, as readable reasons (empty when all fit)."""
        if not self.constrained:
            return []
        reasons: list[str] = []
        for name, spec_text in sorted(requires.items()):
            try:
                spec = SpecifierSet(spec_text)
            except InvalidSpecifier:
                reasons.append(f"requirement {name}{spec_text} is not a valid specifier")
                continue
            want = f"{name}{spec_text}" if spec_text else name
            if name == "python":
                if self.python is not None and not spec.contains(self.python, prereleases=True):
                    reasons.append(f"needs python{spec_text}, environment has {self.python}")
                continue
            have = self.packages.get(canonicalize_name(name))
            if have is None:
                reasons.append(f"needs {want}, environment has no {name}")
            elif not spec.contains(have, prereleases=True):
                reasons.append(f"needs {want}, environment has {name} {have}")
        return reasons

    def as_dict(self) -> dict[str, object]:
        """Stable mapping for the lock's copy of the inputs."""
        if not self.constrained:
            return {}
        return {
            "python": str(self.python) if self.python else None,
            "packages": {k: str(v) for k, v in self.packages.items()},
        }
