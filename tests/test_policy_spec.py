"""``policy.licenses`` in kmodels.yaml: every key parses into the engine, and mistakes are located with a hint."""

from __future__ import annotations

import pytest

from kmenv.errors import SpecError
from kmenv.lockfile.inputs import declared_inputs
from kmenv.policy import RulePolicy
from kmenv.spec.document import parse_spec
from kmenv.values.handles import Handle

FULL = """\
version: 1
policy:
  licenses:
    allow: [Apache-2.0, LicenseRef-acme-1]
    allow-categories: [permissive, public-domain]
    deny: [WTFPL]
    deny-categories: [non-commercial]
    unknown: warn
    exceptions:
      - model: lm
        versions: ">=2"
        allow: [LicenseRef-kmenv-Gemma]
        reason: approved by legal, 2026-10
    clarify:
      - model: lm
        versions: "==1"
        expression: Apache-2.0 OR MIT
    aliases:
      "Acme Model Licence 1.0": LicenseRef-acme-1
models:
  lm: acme/lm/keras/base
"""


def test_every_key_reaches_the_engine() -> None:
    policy = declared_inputs(parse_spec(FULL)).policy
    assert isinstance(policy, RulePolicy)
    assert policy.allow_categories == ("permissive", "public-domain")
    assert policy.deny_categories == ("non-commercial",)
    v1, v2 = Handle.parse("acme/lm/keras/base/1"), Handle.parse("acme/lm/keras/base/2")
    assert policy.evaluate("lm", v1, None).clarified
    assert policy.evaluate("lm", v2, "Gemma").allowed
    assert policy.evaluate("other", v2, "Acme Model Licence 1.0").rule == "policy.licenses.allow"
    assert not policy.evaluate("other", v2, "WTFPL").allowed


@pytest.mark.parametrize(
    ("line", "key", "message", "hint"),
    [
        ("    allow: [Apache 2.0]", "policy.licenses.allow[0]", "'Apache 2.0' is not a licence id", "write Apache-2.0"),
        ("    allow-categories: [free]", "policy.licenses.allow-categories[0]", "free", "permissive"),
        (
            "    clarify: [{model: lm, expression: 'MIT/Apache'}]",
            "policy.licenses.clarify[0].expression",
            "is not a licence expression",
            "AND / OR / WITH",
        ),
        ("    clarify: [{model: lm}]", "policy.licenses.clarify[0].expression", "missing key 'expression'", None),
        (
            "    aliases: {Foo License: MIT, foo  license: Apache-2.0}",
            "policy.licenses.aliases",
            "'Foo License' and 'foo  license' are one spelling",
            "keep one of them",
        ),
    ],
)
def test_mistakes_are_located_with_a_hint(line: str, key: str, message: str, hint: str | None) -> None:
    text = f"version: 1\npolicy:\n  licenses:\n{line}\nmodels:\n  lm: acme/lm/keras/base\n"
    with pytest.raises(SpecError) as err:
        parse_spec(text)
    problem = err.value.problems[0]
    assert (problem.line, problem.key) == (4, key)
    assert message in problem.message
    if hint is not None:
        assert hint in (problem.hint or "")
