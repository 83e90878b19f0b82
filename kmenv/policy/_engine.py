"""The licence policy engine: ``policy.licenses`` rules evaluated over normalised SPDX expressions.

Each licence id of an expression is decided by the first rule that speaks about it, in this order:
an ``exceptions`` entry covering the model (and version) that lists the id → explicit ``deny`` →
explicit ``allow`` → ``deny-categories`` → ``allow-categories`` → ``unknown`` (for ids kmenv does
not recognise, and ambiguous ones) → otherwise not allowed. A project that sets neither ``allow``
nor ``allow-categories`` allows every recognised licence it does not deny. The tree is then
folded: ``OR`` passes when any branch passes, ``AND`` needs every branch, ``X WITH Y`` is one id.

Before that, a ``clarify`` entry replaces the published licence of the versions it covers, and
project ``aliases`` teach the table new spellings.

Fine-tunes: a fine-tune is governed by its own licence AND its base model's. The resolver asks
about each candidate on its own (a fine-tune's base version is not chosen yet when its
candidates are filtered), and every base it pins is itself evaluated, so a resolution never
holds a denied licence anywhere in a chain. What only the pair can show — the combined
expression, and a base whose licence forbids derivatives — is judged by
:func:`kmenv.compliance.check.check_lock` on the locked chain. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from kmenv.policy._entries import Clarification, PolicyException
from kmenv.policy.base import LeafDecision, Verdict
from kmenv.policy.table import LicenceTable, LicenseExpression, Normalised, licence_table
from kmenv.values.handles import Handle

__all__ = ["RulePolicy", "UnknownMode"]

UnknownMode = Literal["deny", "warn", "allow"]

RULE_ALLOW = "policy.licenses.allow"
RULE_DENY = "policy.licenses.deny"
RULE_ALLOW_CATEGORIES = "policy.licenses.allow-categories"
RULE_DENY_CATEGORIES = "policy.licenses.deny-categories"
RULE_UNKNOWN = "policy.licenses.unknown"
RULE_EXCEPTIONS = "policy.licenses.exceptions"


@lru_cache(maxsize=64)
def _ids(values: tuple[str, ...] | None) -> frozenset[str] | None:
    """Lower-cased ids of one rule list; cached because every candidate of a resolve is judged against them."""
    return None if values is None else frozenset(v.lower() for v in values)


@dataclass(frozen=True)
class RulePolicy:
    """``policy.licenses`` as a policy: see the module docstring for the order rules apply in."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    unknown: UnknownMode = "deny"
    exceptions: Sequence[PolicyException] = ()
    allow_categories: tuple[str, ...] | None = None
    deny_categories: tuple[str, ...] = ()
    clarify: Sequence[Clarification] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    #: Verdicts that depend on the licence alone, by published string; a resolve judges thousands of versions
    #: that share a handful of licences.
    _by_licence: dict[str | None, Verdict] = field(default_factory=dict, compare=False, hash=False, repr=False)

    # --- the protocol -----------------------------------------------------------------------------------------------

    def evaluate(self, name: str, handle: Handle, license: str | None) -> Verdict:
        personal = any(e.covers(name, handle) for e in self.exceptions) or any(
            c.covers(name, handle) for c in self.clarify
        )
        if not personal and license in self._by_licence:
            return self._by_licence[license]
        normalised, clarified = self.normalise(name, handle, license)
        verdict = self.judge(name, handle, normalised, clarified=clarified)
        if not personal and verdict.warning is None:  # a warning names the model, so it is not shared
            self._by_licence[license] = verdict
        return verdict

    def fingerprint(self) -> dict[str, object]:
        return {
            "allow": sorted(self.allow) if self.allow is not None else None,
            "allow-categories": sorted(self.allow_categories) if self.allow_categories is not None else None,
            "deny": sorted(self.deny),
            "deny-categories": sorted(self.deny_categories),
            "unknown": self.unknown,
            "exceptions": [
                {"model": e.model, "allow": sorted(e.allow), "versions": e.versions, "reason": e.reason}
                for e in self.exceptions
            ],
            "clarify": [{"model": c.model, "versions": c.versions, "expression": c.expression} for c in self.clarify],
            "aliases": dict(sorted(self.aliases)),
        }

    # --- the steps, public for ``check`` ----------------------------------------------------------------------------

    @property
    def table(self) -> LicenceTable:
        return licence_table().with_aliases(self.aliases)

    def normalise(self, name: str, handle: Handle, license: str | None) -> tuple[Normalised, bool]:
        """The licence this version is judged by (a clarification wins over the published string)."""
        for clarification in self.clarify:
            if clarification.covers(name, handle):
                return self.table.normalise(clarification.expression), True
        return self.table.normalise(license), False

    def judge(self, name: str, handle: Handle, normalised: Normalised, *, clarified: bool = False) -> Verdict:
        """The verdict for an already-normalised licence."""
        shown = repr(normalised.published) if normalised.published else "none published"
        if normalised.expression is None:
            why = "cannot be parsed" if normalised.status == "unparseable" else "is missing"
            leaf = self._unknown_leaf(normalised.published or "none published", f"licence {shown} {why}")
            return self._verdict((leaf,), leaf.allowed, normalised, clarified, name)
        allowed, leaves = self._fold(normalised.expression, name, handle)
        return self._verdict(tuple(leaves), allowed, normalised, clarified, name)

    def decide(self, licence: str, name: str, handle: Handle) -> LeafDecision:
        """The decision for one licence id (``X WITH Y`` is one id) used by ``name`` at ``handle``."""
        info = self.table.info(licence.split(" WITH ")[0])
        category = info.category if info is not None else "unknown"
        flags = info.flags if info is not None else ()
        lowered = licence.lower()
        for index, exc in enumerate(self.exceptions):
            if lowered in {a.lower() for a in exc.allow} and exc.covers(name, handle):
                reason = f"{licence} allowed by exception for {exc.model}: {exc.reason}"
                return LeafDecision(licence, True, RULE_EXCEPTIONS, reason, category, flags, exception=index)
        if lowered in (_ids(self.deny) or frozenset()):
            return LeafDecision(licence, False, RULE_DENY, f"{licence} is in policy.licenses.deny", category, flags)
        allow = _ids(self.allow)
        if allow is not None and lowered in allow:
            return LeafDecision(licence, True, RULE_ALLOW, f"{licence} is in policy.licenses.allow", category, flags)
        if info is None or category == "unknown":
            what = f"{licence} is not a licence kmenv recognises" if info is None else f"{licence} is ambiguous"
            return self._unknown_leaf(licence, what, category, flags)
        if category in self.deny_categories:
            reason = f"{licence} is {category}, denied by policy.licenses.deny-categories"
            return LeafDecision(licence, False, RULE_DENY_CATEGORIES, reason, category, flags)
        if self.allow_categories is not None and category in self.allow_categories:
            reason = f"{licence} is {category}, allowed by policy.licenses.allow-categories"
            return LeafDecision(licence, True, RULE_ALLOW_CATEGORIES, reason, category, flags)
        if self.allow is None and self.allow_categories is None:
            reason = f"{licence} is not denied (no allow-list declared)"
            return LeafDecision(licence, True, RULE_ALLOW, reason, category, flags)
        reason = f"{licence} not allowed by policy.licenses.allow (category {category})"
        return LeafDecision(licence, False, RULE_ALLOW, reason, category, flags)

    # --- internals --------------------------------------------------------------------------------------------------

    def _unknown_leaf(
        self, licence: str, what: str, category: str = "unknown", flags: tuple[str, ...] = ()
    ) -> LeafDecision:
        if self.unknown == "deny":
            return LeafDecision(
                licence, False, RULE_UNKNOWN, f"{what} and policy.licenses.unknown is deny", category, flags
            )
        warning = self.unknown == "warn"
        return LeafDecision(licence, True, RULE_UNKNOWN, what, category, flags, warning=warning)

    def _fold(self, node: LicenseExpression, name: str, handle: Handle) -> tuple[bool, list[LeafDecision]]:
        """(passes, the decisions that carried it): OR keeps the first clean passing branch, AND needs all."""
        from license_expression import AND, OR  # type: ignore[import-untyped]

        if isinstance(node, (AND, OR)):
            results = [self._fold(arg, name, handle) for arg in node.args]
            if isinstance(node, OR):
                passing = [r for r in results if r[0]]
                if passing:
                    clean = [r for r in passing if not any(leaf.warning for leaf in r[1])]
                    return True, (clean or passing)[0][1]
                return False, [leaf for _, leaves in results for leaf in leaves if not leaf.allowed]
            if all(ok for ok, _ in results):
                return True, [leaf for _, leaves in results for leaf in leaves]
            return False, [leaf for _, leaves in results for leaf in leaves if not leaf.allowed]
        leaf = self.decide(str(node), name, handle)
        return leaf.allowed, [leaf]

    def _verdict(
        self, leaves: tuple[LeafDecision, ...], allowed: bool, normalised: Normalised, clarified: bool, name: str
    ) -> Verdict:
        text = normalised.text
        shown = repr(normalised.published) if normalised.published else "none published"
        deciding = leaves if allowed else tuple(leaf for leaf in leaves if not leaf.allowed)
        single = text is not None and len(leaves) == 1 and leaves[0].licence == text
        detail = "; ".join(dict.fromkeys(leaf.reason for leaf in deciding))
        if text is None:
            reason = detail
        elif single:
            reason = f"licence {detail}"
        else:
            reason = f"licence {text}: {detail}"
        if clarified:
            reason += " (licence clarified in policy.licenses.clarify)"
        warned = [leaf for leaf in leaves if leaf.warning]
        warning = None
        if allowed and warned:
            what = ", ".join(leaf.licence for leaf in warned) if text is not None else shown
            warning = f"{name}: licence {what} is not recognised (policy.licenses.unknown: warn)"
        return Verdict(
            allowed=allowed,
            spdx=normalised.spdx,
            rule=deciding[0].rule if deciding else RULE_ALLOW,
            reason=reason,
            warning=warning,
            status=normalised.status,
            expression=text,
            leaves=leaves,
            clarified=clarified,
        )
