"""The target environment: framework requirements checked against declared package versions."""

from __future__ import annotations

import pytest

from kmenv.values.target import TargetEnvironment, framework_requirements


def test_framework_implies_libraries_and_versions_narrow_them() -> None:
    assert framework_requirements("transformers", {"transformers": ">=4.50"}) == {
        "torch": "",
        "transformers": ">=4.50",
    }
    assert framework_requirements("keras", {"keras": "<4", "Python": ">=3.10"}) == {
        "keras": ">=3,<4",
        "python": ">=3.10",
    }
    assert framework_requirements("gguf") == {}


def test_unmet_requirements_are_reasons_a_person_can_read() -> None:
    env = TargetEnvironment.from_strings("3.11", {"Torch": "2.3.1", "transformers": "4.44.2"})
    assert env.unmet({"torch": "", "transformers": ">=4.30"}) == []
    assert env.unmet({"transformers": ">=4.50"}) == ["needs transformers>=4.50, environment has transformers 4.44.2"]
    assert env.unmet({"keras": ">=3"}) == ["needs keras>=3, environment has no keras"]
    assert env.unmet({"python": ">=3.12"}) == ["needs python>=3.12, environment has 3.11"]


def test_an_undeclared_environment_checks_nothing() -> None:
    assert TargetEnvironment.unconstrained().unmet({"keras": ">=3"}) == []
    assert TargetEnvironment.unconstrained().as_dict() == {}


def test_bad_versions_are_named() -> None:
    with pytest.raises(ValueError, match="package 'torch' has version 'latest'"):
        TargetEnvironment.from_strings(None, {"torch": "latest"})
