"""The plain licence policy: Kaggle display names normalised to SPDX, allow/deny lists, exceptions."""

from __future__ import annotations

from kmenv.policy import AllowAll, PolicyException, RulePolicy
from kmenv.policy.names import normalise_licence
from kmenv.values.handles import Handle

H = Handle.parse("acme/model/keras/base/3")


def test_kaggle_display_names_normalise_to_spdx() -> None:
    assert normalise_licence("Apache 2.0") == "Apache-2.0"
    assert normalise_licence("Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)") == "CC-BY-NC-4.0"
    assert normalise_licence("  cc0:   public domain ") == "CC0-1.0"
    assert normalise_licence("apache-2.0") == "Apache-2.0"
    assert normalise_licence("Some Custom Terms") is None
    assert normalise_licence(None) is None


def test_allow_list_first_then_deny() -> None:
    policy = RulePolicy(allow=("Apache-2.0", "MIT"), deny=("MIT",))
    assert policy.evaluate("m", H, "Apache 2.0").allowed
    denied = policy.evaluate("m", H, "MIT")
    assert not denied.allowed and denied.rule == "policy.licenses.deny"
    outside = policy.evaluate("m", H, "GPL 3")
    assert not outside.allowed and outside.rule == "policy.licenses.allow"
    assert outside.reason == "licence GPL-3.0-only not allowed by policy.licenses.allow (category copyleft)"


def test_unknown_licences_follow_the_unknown_setting() -> None:
    assert not RulePolicy(unknown="deny").evaluate("m", H, "Custom").allowed
    warned = RulePolicy(unknown="warn").evaluate("m", H, None)
    assert warned.allowed and warned.warning and "none published" in warned.warning
    assert RulePolicy(unknown="allow").evaluate("m", H, "Custom").allowed


def test_exceptions_name_a_model_and_optionally_versions() -> None:
    exc = PolicyException(model="m", allow=("CC-BY-NC-4.0",), reason="research only", versions=">=3")
    policy = RulePolicy(allow=("Apache-2.0",), exceptions=(exc,))
    nc = "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)"
    verdict = policy.evaluate("m", H, nc)
    assert verdict.allowed and verdict.rule == "policy.licenses.exceptions"
    assert not policy.evaluate("other", H, nc).allowed
    assert not policy.evaluate("m", H.unversioned().with_version(2), nc).allowed
    assert policy.fingerprint()["exceptions"] == [
        {"model": "m", "allow": ["CC-BY-NC-4.0"], "versions": ">=3", "reason": "research only"}
    ]


def test_no_policy_allows_everything() -> None:
    assert AllowAll().evaluate("m", H, "whatever").allowed
    assert AllowAll().fingerprint() == {}
