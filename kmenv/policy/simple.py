"""A plain allow/deny licence policy over SPDX ids, with per-model exceptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet

from kmenv.handles import Handle
from kmenv.policy.base import Verdict
from kmenv.policy.names import normalise_licence

__all__ = ["AllowAll", "ListPolicy", "PolicyException"]


@dataclass(frozen=True)
class PolicyException:
    """Lets ``model`` (a project name or an instance handle) use the ``allow`` ids anyway."""

    model: str
    allow: tuple[str, ...]
    reason: str
    versions: str = ""

    def covers(self, name: str, handle: Handle) -> bool:
        if self.model not in (name, handle.unversioned().__str__(), str(handle)):
            return False
        if self.versions and handle.version is not None:
            return SpecifierSet(self.versions).contains(str(handle.version))
        return True


class AllowAll:
    """The policy of a project that declares none: every licence passes, unknown included."""

    def evaluate(self, name: str, handle: Handle, license: str | None) -> Verdict:
        return Verdict(True, normalise_licence(license), "policy", "no licence policy declared")

    def fingerprint(self) -> dict[str, object]:
        return {}


@dataclass(frozen=True)
class ListPolicy:
    """Allow-list first (when given), then deny-list; ``unknown`` decides unrecognised licences.

    ``allow=None`` means every known licence not denied is allowed.
    """

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    unknown: str = "deny"
    exceptions: Sequence[PolicyException] = ()

    def evaluate(self, name: str, handle: Handle, license: str | None) -> Verdict:
        spdx = normalise_licence(license)
        shown = license if license else "none published"
        if spdx is None:
            if self.unknown == "allow":
                return Verdict(True, None, "policy.licenses.unknown", f"licence {shown!r} is unknown; allowed")
            if self.unknown == "warn":
                return Verdict(
                    True,
                    None,
                    "policy.licenses.unknown",
                    f"licence {shown!r} is unknown",
                    warning=f"{name}: licence {shown!r} is not recognised (policy.licenses.unknown: warn)",
                )
            return Verdict(
                False,
                None,
                "policy.licenses.unknown",
                f"licence {shown!r} is unknown and policy.licenses.unknown is deny",
            )
        for exc in self.exceptions:
            if spdx in exc.allow and exc.covers(name, handle):
                return Verdict(
                    True, spdx, "policy.licenses.exceptions", f"licence {spdx} allowed by exception: {exc.reason}"
                )
        if spdx in self.deny:
            return Verdict(False, spdx, "policy.licenses.deny", f"licence {spdx} is in policy.licenses.deny")
        if self.allow is not None and spdx not in self.allow:
            return Verdict(False, spdx, "policy.licenses.allow", f"licence {spdx} not allowed by policy.licenses.allow")
        return Verdict(True, spdx, "policy.licenses.allow", f"licence {spdx} allowed")

    def fingerprint(self) -> dict[str, object]:
        return {
            "allow": sorted(self.allow) if self.allow is not None else None,
            "deny": sorted(self.deny),
            "unknown": self.unknown,
            "exceptions": [
                {"model": e.model, "allow": sorted(e.allow), "versions": e.versions, "reason": e.reason}
                for e in self.exceptions
            ],
        }
