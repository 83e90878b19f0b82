"""The policy engine: which rule decides each licence id, how expressions fold, clarifications and aliases."""

from __future__ import annotations

import pytest

from kmenv.policy import Clarification, PolicyException, RulePolicy
from kmenv.values.handles import Handle

H = Handle.parse("acme/model/keras/base/3")
NC = "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)"


def rule(policy: RulePolicy, licence: str | None, name: str = "m", handle: Handle = H) -> tuple[bool, str]:
    verdict = policy.evaluate(name, handle, licence)
    return verdict.allowed, verdict.rule


def test_explicit_ids_beat_categories_and_exceptions_beat_everything() -> None:
    policy = RulePolicy(
        allow=("CC-BY-NC-4.0",),
        allow_categories=("permissive",),
        deny=("MIT",),
        deny_categories=("non-commercial", "copyleft"),
        exceptions=(PolicyException("m", ("MIT",), "vendored under MIT by contract"),),
    )
    assert rule(policy, "Apache 2.0") == (True, "policy.licenses.allow-categories")
    assert rule(policy, "MIT", name="other") == (False, "policy.licenses.deny")
    assert rule(policy, "MIT") == (True, "policy.licenses.exceptions")
    assert rule(policy, NC) == (True, "policy.licenses.allow")  # an explicit id beats a denied category
    assert rule(policy, "GPL 3") == (False, "policy.licenses.deny-categories")
    assert rule(policy, "Gemma") == (False, "policy.licenses.allow")  # use-restricted: neither allowed nor denied


def test_a_denial_names_the_licence_its_category_and_the_setting() -> None:
    verdict = RulePolicy(allow=("Apache-2.0",)).evaluate("m", H, NC)
    assert verdict.reason == "licence CC-BY-NC-4.0 not allowed by policy.licenses.allow (category non-commercial)"
    assert verdict.denied_ids == ("CC-BY-NC-4.0",)
    assert verdict.category == "non-commercial"
    assert verdict.spdx == "CC-BY-NC-4.0"


def test_or_passes_when_any_branch_is_allowed_and_and_needs_every_branch() -> None:
    policy = RulePolicy(allow=("MIT", "Apache-2.0"))
    either = policy.evaluate("m", H, "CC-BY-NC-4.0 OR MIT")
    assert either.allowed and [leaf.licence for leaf in either.leaves] == ["MIT"]
    both = policy.evaluate("m", H, "MIT AND CC-BY-NC-4.0")
    assert not both.allowed and both.denied_ids == ("CC-BY-NC-4.0",)
    assert both.reason.startswith("licence MIT AND CC-BY-NC-4.0: CC-BY-NC-4.0 not allowed")
    nested = policy.evaluate("m", H, "(CC-BY-NC-4.0 OR MIT) AND Apache-2.0")
    assert nested.allowed


def test_a_licence_with_an_exception_clause_is_its_own_id() -> None:
    expression = "GPL-2.0-or-later WITH Classpath-exception-2.0"
    assert not RulePolicy(allow=("GPL-2.0-or-later",)).evaluate("m", H, expression).allowed
    assert RulePolicy(allow=(expression,)).evaluate("m", H, expression).allowed


@pytest.mark.parametrize(
    ("mode", "allowed", "warns"), [("deny", False, False), ("warn", True, True), ("allow", True, False)]
)
def test_unknown_ids_follow_the_unknown_setting(mode: str, allowed: bool, warns: bool) -> None:
    policy = RulePolicy(allow=("MIT",), unknown=mode)  # type: ignore[arg-type]
    for published in ("Acme Research Terms", "bsd", None, "MIT/Apache-2.0"):
        verdict = policy.evaluate("m", H, published)
        assert (verdict.allowed, verdict.rule) == (allowed, "policy.licenses.unknown"), published
        assert bool(verdict.warning) == warns
    assert policy.evaluate("m", H, "MIT/Apache-2.0").status == "unparseable"
    assert policy.evaluate("m", H, "bsd").reason.startswith("licence LicenseRef-kmenv-Ambiguous-BSD is ambiguous")


def test_an_or_prefers_a_clean_branch_over_one_allowed_with_a_warning() -> None:
    verdict = RulePolicy(allow=("MIT",), unknown="warn").evaluate("m", H, "Acme Terms OR MIT")
    assert verdict.allowed and verdict.warning is None


def test_with_no_allow_list_every_recognised_licence_not_denied_passes() -> None:
    policy = RulePolicy(deny_categories=("non-commercial",))
    assert policy.evaluate("m", H, "Gemma").allowed
    assert not policy.evaluate("m", H, NC).allowed
    assert not policy.evaluate("m", H, "Acme Terms").allowed  # unknown stays denied by default


def test_exceptions_are_scoped_to_model_and_versions() -> None:
    exc = PolicyException("acme/model/keras/base", ("CC-BY-NC-4.0",), "research only", versions=">=3")
    policy = RulePolicy(allow=("MIT",), exceptions=(exc,))
    verdict = policy.evaluate("anything", H, NC)
    assert verdict.allowed and verdict.leaves[0].exception == 0
    assert "research only" in verdict.reason
    assert not policy.evaluate("anything", H.unversioned().with_version(2), NC).allowed


def test_a_clarification_replaces_the_published_licence_for_its_versions() -> None:
    policy = RulePolicy(allow=("Apache-2.0",), clarify=(Clarification("m", "Apache-2.0", versions="==3"),))
    verdict = policy.evaluate("m", H, None)
    assert verdict.allowed and verdict.clarified and verdict.spdx == "Apache-2.0"
    assert "clarified" in verdict.reason
    assert not policy.evaluate("m", H.unversioned().with_version(4), None).allowed


def test_project_aliases_teach_new_spellings() -> None:
    policy = RulePolicy(allow=("LicenseRef-acme-1",), aliases=(("Acme Model Licence", "LicenseRef-acme-1"),))
    assert policy.evaluate("m", H, "acme model licence").allowed
    assert policy.fingerprint()["aliases"] == {"Acme Model Licence": "LicenseRef-acme-1"}


def test_the_fingerprint_is_stable_and_complete() -> None:
    policy = RulePolicy(allow=("MIT", "Apache-2.0"), allow_categories=("permissive",), unknown="warn")
    assert policy.fingerprint() == {
        "allow": ["Apache-2.0", "MIT"],
        "allow-categories": ["permissive"],
        "deny": [],
        "deny-categories": [],
        "unknown": "warn",
        "exceptions": [],
        "clarify": [],
        "aliases": {},
    }
