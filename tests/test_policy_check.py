"""``check_lock``: every finding in one pass, fine-tunes judged with their base, each finding placed in kmodels.yaml."""

from __future__ import annotations

from kmenv.compliance.check import check_lock
from kmenv.compliance.places import spec_places
from kmenv.lockfile.document import DeclaredInputs, InputModel, InputRegistry, LockFile, build_lock
from kmenv.policy import AllowAll, PolicyException, RulePolicy
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle
from kmenv.values.target import TargetEnvironment

SPEC = """\
version: 1
policy:
  licenses:
    allow: [Apache-2.0, MIT]
    exceptions:
      - model: chat
        allow: [CC-BY-NC-4.0]
        reason: research prototype
      - model: ghost
        allow: [MIT]
        reason: left over
models:
  chat: acme/chat/pyTorch/lora
  vision: acme/vision/keras/base
  odd: acme/odd/onnx/v1
"""


def cand(handle: str, licence: str | None) -> Candidate:
    return Candidate(
        handle=Handle.parse(handle),
        registry="example",
        license=licence,
        requires={},
        files=(FileEntry("model.bin", 4, "ab" * 32),),
    )


def make_lock(licences: dict[str, str | None], policy: object = None) -> LockFile:
    """chat (a fine-tune of chat-base), vision and odd, with the given published licences."""
    handles = {
        "chat": "acme/chat/pyTorch/lora/2",
        "chat-base": "acme/chat-base/pyTorch/base/5",
        "vision": "acme/vision/keras/base/3",
        "odd": "acme/odd/onnx/v1/1",
    }
    declared = {n: h for n, h in handles.items() if n != "chat-base"}
    inputs = DeclaredInputs(
        models={
            n: InputModel(handle=str(Handle.parse(h).unversioned()), versions="", registry="example")
            for n, h in declared.items()
        },
        registries={"example": InputRegistry(type="static", url="../registry")},
        environment=TargetEnvironment.unconstrained(),
        environment_record={},
        policy=policy or AllowAll(),  # type: ignore[arg-type]
    )
    chosen = []
    for name, handle in handles.items():
        c = cand(handle, licences[name])
        base = "chat-base" if name == "chat" else None
        required_by = ["chat"] if name == "chat-base" else []
        chosen.append((name, c, name != "chat-base", base, required_by, None, c.files))
    return build_lock(inputs, chosen)


POLICY = RulePolicy(
    allow=("Apache-2.0", "MIT"),
    exceptions=(
        PolicyException("chat", ("CC-BY-NC-4.0",), "research prototype"),
        PolicyException("ghost", ("MIT",), "left over"),
    ),
)


def kinds(report: object) -> list[tuple[str, str, str | None]]:
    return [(f.kind, f.severity, f.model) for f in report.findings]  # type: ignore[attr-defined]


def test_every_finding_is_reported_in_one_pass_errors_first() -> None:
    lock = make_lock(
        {
            "chat": "CC BY-NC 4.0",
            "chat-base": "Attribution-NoDerivatives 4.0 International (CC BY-ND 4.0)",
            "vision": "Acme Terms",
            "odd": "MIT/Apache-2.0",
        }
    )
    report = check_lock(lock, POLICY, places=spec_places(SPEC))
    assert kinds(report) == [
        ("derivative", "error", "chat"),
        ("denied", "error", "chat-base"),
        ("unparseable", "error", "odd"),
        ("unknown", "error", "vision"),
        ("exception-unused", "warning", "ghost"),
        ("exception-used", "note", "chat"),
    ]
    assert not report.passed and report.errors == 4 and report.warnings == 1
    chat = next(m for m in report.models if m.name == "chat")
    assert (chat.outcome, chat.bases, chat.effective) == ("excepted", ("chat-base",), "CC-BY-NC-4.0 AND CC-BY-ND-4.0")


def test_findings_point_at_the_model_or_the_exception_in_kmodels_yaml() -> None:
    lock = make_lock({"chat": "MIT", "chat-base": "CC-BY-NC-4.0", "vision": "MIT", "odd": "MIT"})
    report = check_lock(lock, POLICY, places=spec_places(SPEC))
    where = {(f.kind, f.model): (f.line, f.column) for f in report.findings}
    assert where[("denied", "chat-base")] == (13, 3)  # a base model points at the model that pulls it in
    assert where[("exception-unused", "ghost")] == (9, 9)
    assert where[("exception-unused", "chat")] == (6, 9)


def test_an_exception_for_the_fine_tune_admits_a_no_derivatives_base() -> None:
    policy = RulePolicy(
        allow=("MIT", "CC-BY-ND-4.0"), exceptions=(PolicyException("chat", ("CC-BY-ND-4.0",), "licence bought"),)
    )
    lock = make_lock({"chat": "MIT", "chat-base": "CC-BY-ND-4.0", "vision": "MIT", "odd": "MIT"})
    report = check_lock(lock, policy)
    assert report.passed
    assert [f.kind for f in report.findings] == []  # the exception was used for the derivative, so not "unused"


def test_a_clean_lock_passes_with_nothing_to_say() -> None:
    lock = make_lock({"chat": "MIT", "chat-base": "Apache 2.0", "vision": "MIT", "odd": "Apache 2.0"})
    report = check_lock(lock, RulePolicy(allow=("Apache-2.0", "MIT")))
    assert report.passed and report.findings == ()
    assert {m.outcome for m in report.models} == {"allowed"}


def test_unknown_warn_is_a_warning_and_does_not_fail() -> None:
    lock = make_lock({"chat": "MIT", "chat-base": "MIT", "vision": "Acme Terms", "odd": "MIT"})
    report = check_lock(lock, RulePolicy(allow=("MIT",), unknown="warn"))
    assert kinds(report) == [("unknown", "warning", "vision")] and report.passed


def test_a_licence_change_since_the_previous_lock_is_reported() -> None:
    before = make_lock({"chat": "MIT", "chat-base": "MIT", "vision": "MIT", "odd": "MIT"}, RulePolicy())
    after = make_lock({"chat": "MIT", "chat-base": "MIT", "vision": "Apache 2.0", "odd": "MIT"}, RulePolicy())
    before = before.model_copy(
        update={"models": {n: m.model_copy(update={"license": m.license.model_copy(update={"spdx": "MIT"})})
                           for n, m in before.models.items()}}
    )  # fmt: skip
    report = check_lock(after, RulePolicy(), previous=before, previous_source="old.lock")
    changed = [f for f in report.findings if f.kind == "licence-changed"]
    assert [f.model for f in changed] == ["vision"]
    assert changed[0].message == (
        "vision: licence changed from MIT (version 3) to Apache 2.0 (version 3) since the previous lock"
    )
    assert report.previous == "old.lock"


def test_each_denial_hints_at_the_edit_for_the_rule_that_denied_it() -> None:
    lock = make_lock({"chat": "MIT", "chat-base": "MIT", "vision": "CC-BY-NC-4.0", "odd": "WTFPL"})
    policy = RulePolicy(deny=("WTFPL",), deny_categories=("non-commercial",))
    hints = {f.model: f.hint for f in check_lock(lock, policy).findings}
    assert hints["vision"] == (
        "remove non-commercial from policy.licenses.deny-categories or add an exception for vision "
        "(allow: [CC-BY-NC-4.0] with a reason)"
    )
    assert hints["odd"] == (
        "remove WTFPL from policy.licenses.deny or add an exception for odd (allow: [WTFPL] with a reason)"
    )
