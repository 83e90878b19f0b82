"""kmodels.lock: deterministic bytes, strict parsing with located errors, and staleness by admission."""

from __future__ import annotations

import json

import pytest

from kmenv.errors import LockfileError, UsageError
from kmenv.lockfile.document import (
    DeclaredInputs,
    InputModel,
    InputRegistry,
    build_lock,
    dumps_lock,
    parse_lock,
    select_files,
    stale_reasons,
)
from kmenv.policy import AllowAll, RulePolicy
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

SHA = "ab" * 32


def cand(handle: str, license: str = "Apache 2.0", requires: dict[str, str] | None = None) -> Candidate:
    return Candidate(
        handle=Handle.parse(handle),
        registry="example",
        license=license,
        requires=requires or {},
        files=(FileEntry("config.json", 10, SHA), FileEntry("weights/model.safetensors", 100, "cd" * 32)),
    )


def inputs(versions: str = ">=2", policy: object = None, env: TargetEnvironment | None = None) -> DeclaredInputs:
    return DeclaredInputs(
        models={
            "tuned": InputModel(handle="acme/tuned/keras/lora", versions=versions, registry="example"),
        },
        registries={"example": InputRegistry(type="static", url="../registry")},
        environment=env or TargetEnvironment.unconstrained(),
        environment_record={},
        policy=policy or AllowAll(),  # type: ignore[arg-type]
    )


def sample_lock(decl: DeclaredInputs | None = None) -> str:
    tuned = cand("acme/tuned/keras/lora/3", requires={"keras": ">=3"})
    base = cand("acme/base/keras/2b/2")
    lock = build_lock(
        decl or inputs(),
        [
            ("tuned", tuned, True, "base-2b", [], "Apache-2.0", tuned.files),
            ("base-2b", base, False, None, ["tuned"], "Apache-2.0", base.files),
        ],
    )
    return dumps_lock(lock)


def test_same_inputs_give_the_same_bytes() -> None:
    first, second = sample_lock(), sample_lock()
    assert first == second
    assert first.endswith("\n")
    data = json.loads(first)
    assert data["lock-version"] == 1
    assert list(data) == sorted(data)
    assert data["models"]["base-2b"]["required-by"] == ["tuned"]
    files = [f for m in data["models"].values() for f in m["files"]]
    assert all(set(f) == {"path", "size", "sha256", "digests"} for f in files)  # never a (possibly signed) URL


def test_parse_round_trip() -> None:
    text = sample_lock()
    assert dumps_lock(parse_lock(text)) == text


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda t: t[:-20], "kmodels.lock:"),
        (lambda t: t.replace('"lock-version": 1', '"lock-version": 9'), "lock-version 9 is not supported"),
        (lambda t: t.replace(SHA, "xyz"), ".files.0.sha256: String should match pattern"),
        (lambda t: t.replace('"version": 3', '"version": "three"'), "models.tuned.version"),
        (lambda t: t.replace('"config.json"', '"../../etc/passwd"'), "is not a safe relative path"),
        (lambda t: t.replace('"base": "base-2b"', '"base": "nowhere"'), "'nowhere' is not a locked model"),
        (lambda t: t.replace('"framework": "keras"', '"framework": "onnx"', 1), "disagrees with the handle"),
    ],
)
def test_corrupt_or_hand_edited_locks_are_refused_with_the_place(edit, fragment: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LockfileError) as err:
        parse_lock(edit(sample_lock()), "kmodels.lock")
    assert fragment in " ".join([err.value.message, *err.value.details()])
    assert err.value.exit_code == 2
    assert "kmenv lock" in (err.value.hint or "")


def test_a_constraint_that_still_admits_the_locked_version_is_not_stale() -> None:
    lock = parse_lock(sample_lock())
    assert stale_reasons(lock, inputs(">=2")) == []
    assert stale_reasons(lock, inputs(">=3,<9")) == []


def test_staleness_names_each_reason() -> None:
    lock = parse_lock(sample_lock())
    assert stale_reasons(lock, inputs("<3")) == ["model 'tuned': version 3 no longer satisfies '<3'"]
    policy = RulePolicy(allow=("MIT",))
    assert "licence Apache-2.0 not allowed by policy.licenses.allow" in stale_reasons(lock, inputs(policy=policy))[0]
    env = TargetEnvironment.from_strings(None, {"keras": "2.15"})
    assert stale_reasons(lock, inputs(env=env)) == ["model 'tuned' needs keras>=3, environment has keras 2.15"]
    more = inputs()
    more = DeclaredInputs(
        {**more.models, "x": InputModel(handle="a/b", versions="", registry="example")},
        more.registries,
        more.environment,
        {},
        more.policy,
    )
    assert stale_reasons(lock, more) == ["model 'x' was added"]
    fewer = DeclaredInputs({}, inputs().registries, inputs().environment, {}, AllowAll())
    assert stale_reasons(lock, fewer) == ["model 'tuned' was removed"]


def test_file_globs_select_and_refuse_typos() -> None:
    c = cand("acme/tuned/keras/lora/3")
    assert [f.path for f in select_files("t", c, c.files, None)] == ["config.json", "weights/model.safetensors"]
    assert [f.path for f in select_files("t", c, c.files, ["*.json"])] == ["config.json"]
    with pytest.raises(UsageError, match=r"models.t.files: '\*.onnx' matches no file"):
        select_files("t", c, c.files, ["*.onnx"])
