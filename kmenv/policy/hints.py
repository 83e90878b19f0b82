"""The policy edits that would admit a denied licence, worded once for ``lock`` errors and ``check`` reports."""

from __future__ import annotations

from kmenv.policy.base import LeafDecision

__all__ = ["either", "licence_fixes"]


def licence_fixes(leaf: LeafDecision, who: str) -> list[str]:
    """Each edit that would let ``leaf`` through for the model ``who`` (a project name or instance handle)."""
    licence, category = leaf.licence, leaf.category
    exception = f"add an exception for {who} (allow: [{licence}] with a reason)"
    if leaf.rule == "policy.licenses.unknown":
        return [
            f"add an alias in policy.licenses.aliases or a policy.licenses.clarify entry for {who}",
            "set policy.licenses.unknown to warn",
        ]
    if leaf.rule == "policy.licenses.deny":
        return [f"remove {licence} from policy.licenses.deny", exception]
    if leaf.rule == "policy.licenses.deny-categories":
        return [f"remove {category} from policy.licenses.deny-categories", exception]
    return [
        f"allow {licence} in policy.licenses.allow",
        f"allow {category} in policy.licenses.allow-categories",
        exception,
    ]


def either(options: list[str]) -> str:
    """``["a", "b", "c"]`` → ``"a, b, or c"``."""
    if len(options) <= 2:
        return " or ".join(options)
    return f"{', '.join(options[:-1])}, or {options[-1]}"
