"""kmodels.yaml: what a valid file means, and how each mistake is reported (line, column, key path, hint)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from kmenv.environment.project_files import read_spec
from kmenv.errors import Problem, ProjectNotFoundError, SpecError
from kmenv.spec.document import DeclaredModel, DeclaredRegistry, ProjectSpec, parse_spec
from kmenv.values.handles import Handle

FULL_EXAMPLE = """\
version: 1
registries:
  example:
    url: ../registry
  kaggle:
    type: kaggle
environment:
  python: "3.11"
  packages:
    torch: "2.3.1"
    numpy: 1.26
  detect: false
policy:
  licenses:
    allow: [Apache-2.0, MIT]
    deny: [CC-BY-NC-4.0]
    unknown: warn
    exceptions:
      - model: llm
        versions: ">=2"
        allow: [LicenseRef-kmenv-Gemma]
        reason: "approved by legal, 2026-10"
models:
  bert: owner/bert/keras/tiny
  llm: google/gemma/transformers/2b-it@>=2,<4
  pinned: owner/model/onnx/v/3
  clf:
    handle: owner/model
    version: ">= 2"
    files: ["*.json", "weights/*"]
    registry: kaggle
"""


def problems(text: str) -> list[Problem]:
    """Every problem parse_spec reports for ``text`` (dedented)."""
    with pytest.raises(SpecError) as caught:
        parse_spec(dedent(text))
    return caught.value.problems


def only_problem(text: str) -> Problem:
    found = problems(text)
    assert len(found) == 1, [p.render() for p in found]
    return found[0]


# --- what a valid file means ----------------------------------------------------------------------------------------


def test_the_documented_example_parses_into_sections_with_python_attribute_names() -> None:
    spec = parse_spec(FULL_EXAMPLE)

    assert spec.environment is not None
    assert spec.environment.python == "3.11"
    assert spec.environment.packages == {"torch": "2.3.1", "numpy": "1.26"}  # 1.26 was a YAML number
    assert spec.environment.detect is False
    assert spec.policy is not None and spec.policy.licenses is not None
    assert spec.policy.licenses.allow == ("Apache-2.0", "MIT")
    assert spec.policy.licenses.unknown == "warn"
    assert spec.policy.licenses.exceptions[0].reason == "approved by legal, 2026-10"


def test_declared_models_are_sorted_by_name_with_shorthands_split_and_pins_made_constraints() -> None:
    spec = parse_spec(FULL_EXAMPLE)

    assert spec.declared_models() == (
        DeclaredModel("bert", Handle("owner", "bert", "keras", "tiny"), "", None, "example"),
        DeclaredModel("clf", Handle("owner", "model"), ">=2", ("*.json", "weights/*"), "kaggle"),
        DeclaredModel("llm", Handle("google", "gemma", "transformers", "2b-it"), ">=2,<4", None, "example"),
        DeclaredModel("pinned", Handle("owner", "model", "onnx", "v"), "==3", None, "example"),
    )


def test_a_versioned_handle_with_an_agreeing_version_is_pinned_to_that_version() -> None:
    spec = parse_spec("version: 1\nmodels:\n  m:\n    handle: o/m/keras/v/3\n    version: '>=2'\n")

    assert spec.declared_models()[0].versions == "==3"


def test_registries_keep_file_order_and_a_url_alone_means_static() -> None:
    spec = parse_spec(FULL_EXAMPLE)

    assert spec.declared_registries() == (
        DeclaredRegistry("example", "static", "../registry"),
        DeclaredRegistry("kaggle", "kaggle", None),
    )
    assert spec.default_registry() == "example"


@pytest.mark.parametrize("registries", ["", "registries: {}\n"])
def test_a_project_without_registries_uses_kaggle(registries: str) -> None:
    spec = parse_spec(f"version: 1\n{registries}models:\n  bert: owner/bert/keras/tiny\n")

    assert spec.declared_registries() == (DeclaredRegistry("kaggle", "kaggle", None),)
    assert spec.declared_models()[0].registry == "kaggle"


def test_environment_and_policy_may_be_omitted() -> None:
    spec = parse_spec("version: 1\nmodels: {}\n")

    assert spec.environment is None and spec.policy is None and spec.declared_models() == ()


def test_the_parsed_spec_is_immutable() -> None:
    spec = parse_spec(FULL_EXAMPLE)

    with pytest.raises(ValueError, match="frozen"):
        spec.models = {}  # type: ignore[misc]


def test_the_json_schema_says_handles_are_strings_and_allows_the_shorthand_form() -> None:
    schema = ProjectSpec.model_json_schema()
    model_spec = schema["$defs"]["ModelSpec"]

    entry_forms = schema["properties"]["models"]["additionalProperties"]["oneOf"]
    assert {"type": "string"} in entry_forms
    assert {"$ref": "#/$defs/ModelSpec"} in entry_forms
    assert model_spec["properties"]["handle"]["type"] == "string"
    assert model_spec["additionalProperties"] is False
    assert schema["additionalProperties"] is False


def test_the_json_schema_accepts_the_documented_example_and_rejects_unknown_keys() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    validator = jsonschema.Draft202012Validator(ProjectSpec.model_json_schema())
    document = YAML(typ="safe").load(FULL_EXAMPLE)
    assert list(validator.iter_errors(document)) == []

    document["models"]["clf"]["fles"] = ["*"]
    assert [e.message for e in validator.iter_errors(document)]


def test_read_spec_reads_the_file_and_names_it_in_problems(tmp_path: Path) -> None:
    path = tmp_path / "kmodels.yaml"
    path.write_text(FULL_EXAMPLE, encoding="utf-8")
    assert read_spec(path).default_registry() == "example"

    path.write_text("version: 1\nmodels:\n  bert: owner/bert\n  bert: owner/other\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        read_spec(path)
    assert caught.value.problems[0].file == str(path)
    assert str(caught.value).startswith(f"{path}:4:3: models.bert: duplicate model name 'bert'")


def test_read_spec_of_a_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFoundError) as caught:
        read_spec(tmp_path / "kmodels.yaml")

    assert caught.value.hint == "create one with kmenv init"


def test_read_spec_reports_bytes_that_are_not_utf8_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "kmodels.yaml"
    path.write_bytes(b"version: 1\nmodels:\n  caf\xe9: owner/model\n")

    with pytest.raises(SpecError) as caught:
        read_spec(path)
    assert (caught.value.problems[0].line, caught.value.problems[0].message) == (3, "the file is not UTF-8 text")


# --- the file as a whole --------------------------------------------------------------------------------------------


def test_a_yaml_syntax_error_is_one_problem_at_its_line_and_column() -> None:
    problem = only_problem("""\
        version: 1
        models:
          bert: owner/bert: keras
        """)

    assert (problem.line, problem.column, problem.key) == (3, 19, "")
    assert problem.message == "invalid YAML: mapping values are not allowed here"
    assert problem.hint == "check the indentation, colons and quotes here"


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_an_empty_file_says_what_to_start_with(text: str) -> None:
    problem = only_problem(text)

    assert problem.message == "the file is empty"
    assert problem.hint is not None and "kmenv init" in problem.hint


@pytest.mark.parametrize("text", ["- bert\n- gemma\n", "owner/bert/keras/tiny\n"])
def test_a_top_level_that_is_not_a_mapping_is_reported_at_line_one(text: str) -> None:
    problem = only_problem(text)

    assert (problem.line, problem.message) == (1, "expected a mapping at the top level")


def test_a_missing_version_is_reported_with_the_other_problems() -> None:
    found = problems("""\
        models:
          bert: owner/bert/pytorh/tiny
        """)

    assert [(p.key, p.line) for p in found] == [("version", None), ("models.bert", 2)]
    assert found[0].hint == "add version: 1 as the first line"


def test_another_format_version_is_the_only_problem_reported() -> None:
    problem = only_problem("""\
        version: 2
        models:
          bert: owner/bert/pytorh/tiny
        surprise: true
        """)

    assert (problem.line, problem.column, problem.key) == (1, 10, "version")
    assert problem.message == "format version 2 is not supported"
    assert problem.hint == "this kmenv reads version 1; upgrade kmenv"


def test_a_quoted_version_number_is_not_the_version() -> None:
    problem = only_problem("version: '1'\nmodels: {}\n")

    assert (problem.key, problem.message, problem.hint) == (
        "version",
        "expected the number 1, got '1'",
        "write version: 1",
    )


# --- keys ------------------------------------------------------------------------------------------------------------


def test_unknown_keys_anywhere_point_at_the_key_and_suggest_the_closest_valid_one() -> None:
    found = problems("""\
        version: 1
        plicy: {}
        environment:
          packges: {}
        models:
          clf:
            handle: owner/model
            fles: ["*.json"]
        """)

    assert [(p.line, p.column, p.key, p.message, p.hint) for p in found] == [
        (2, 1, "plicy", "unknown key 'plicy'", "did you mean 'policy'?"),
        (4, 3, "environment.packges", "unknown key 'packges'", "did you mean 'packages'?"),
        (8, 5, "models.clf.fles", "unknown key 'fles'", "did you mean 'files'?"),
    ]


def test_an_unknown_key_with_no_close_match_lists_the_valid_keys() -> None:
    problem = only_problem("""\
        version: 1
        policy:
          licenses:
            exceptions:
              - model: bert
                allow: [MIT]
                reason: legal said yes
                ticket: LEGAL-12
        models:
          bert: owner/bert
        """)

    assert (problem.line, problem.key) == (8, "policy.licenses.exceptions[0].ticket")
    assert problem.hint == "valid keys here: allow, model, reason, versions"


def test_a_duplicate_model_name_is_reported_at_its_second_occurrence_alongside_other_problems() -> None:
    found = problems("""\
        version: 1
        models:
          bert: owner/bert/keras/tiny
          clf: owner/classifier@~=2.0
          bert: owner/bert/keras/base
        """)

    assert [(p.line, p.column, p.key) for p in found] == [(4, 8, "models.clf"), (5, 3, "models.bert")]
    assert found[1].message == "duplicate model name 'bert' (first on line 3)"


def test_duplicate_keys_are_reported_wherever_they_are() -> None:
    problem = only_problem("""\
        version: 1
        registries:
          mirror:
            url: ../a
            url: ../b
        models: {}
        """)

    assert (problem.line, problem.column, problem.key) == (5, 5, "registries.mirror.url")
    assert problem.message == "duplicate key 'url' (first on line 4)"


def test_a_missing_required_key_points_at_its_parent() -> None:
    problem = only_problem("""\
        version: 1
        models:
          clf:
            version: ">=2"
        """)

    assert (problem.line, problem.column, problem.key, problem.message) == (
        3,
        3,
        "models.clf.handle",
        "missing key 'handle'",
    )
    assert problem.hint == "every model needs handle: owner/model[/framework/variation]"


def test_a_missing_models_section_has_no_single_place() -> None:
    problem = only_problem("version: 1\n")

    assert (problem.line, problem.key, problem.message) == (None, "models", "missing key 'models'")


def test_an_empty_models_section_must_be_written_as_an_empty_mapping() -> None:
    problem = only_problem("version: 1\nmodels:\n")

    assert (problem.key, problem.message, problem.hint) == (
        "models",
        "expected a mapping, got nothing",
        "write {} for an empty mapping",
    )


def test_a_model_entry_must_be_a_handle_or_a_mapping() -> None:
    problem = only_problem("version: 1\nmodels:\n  bert: [owner/bert]\n")

    assert (problem.line, problem.column, problem.key) == (3, 3, "models.bert")
    assert problem.message == "expected a handle or a mapping with handle:"


# --- model names and handles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("'../evil'", "model name '../evil' is not a safe folder name"),
        ("'.'", "model name '.' is not a safe folder name"),
        ("'..'", "model name '..' is not a safe folder name"),
        ("my model", "model name 'my model' is not a safe folder name"),
        ("_private", "model name '_private' is not a safe folder name"),
        ("nul", "model name 'nul' is a reserved device name on Windows"),
    ],
)
def test_model_names_must_be_safe_folder_names(name: str, message: str) -> None:
    problem = only_problem(f"version: 1\nmodels:\n  {name}: owner/model\n")

    assert (problem.line, problem.column, problem.message) == (3, 3, message)


def test_an_unsafe_name_hint_suggests_a_safe_spelling() -> None:
    problem = only_problem("version: 1\nmodels:\n  my model: owner/model\n")

    assert problem.hint == "use letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. 'my-model'"


def test_a_bad_handle_uses_the_handle_parsers_message_and_hint() -> None:
    problem = only_problem("version: 1\nmodels:\n  gemma: google/gemma/pytorh/2b\n")

    assert (problem.line, problem.column, problem.key) == (3, 10, "models.gemma")
    assert problem.message == "handle 'google/gemma/pytorh/2b': unknown framework 'pytorh'"
    assert problem.hint == "did you mean 'pyTorch'?"


def test_a_bad_handle_in_the_mapping_form_is_reported_at_its_handle_key() -> None:
    problem = only_problem("version: 1\nmodels:\n  gemma:\n    handle: google/gemma/keras\n")

    assert (problem.line, problem.column, problem.key) == (4, 13, "models.gemma.handle")
    assert problem.message == "handle 'google/gemma/keras' names a framework but no variation"


def test_two_names_for_the_same_model_instance_are_refused() -> None:
    problem = only_problem("""\
        version: 1
        models:
          bert: owner/bert/keras/tiny
          bert-v2:
            handle: Owner/Bert/Keras/tiny/2
        """)

    assert (problem.line, problem.key) == (5, "models.bert-v2.handle")
    assert problem.message == "Owner/Bert/keras/tiny is already declared as 'bert'"


def test_names_that_differ_only_in_case_would_collide_on_some_file_systems() -> None:
    problem = only_problem("version: 1\nmodels:\n  bert: owner/bert\n  Bert: owner/other\n")

    assert (problem.line, problem.column, problem.key) == (4, 3, "models.Bert")


# --- version constraints ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["~=2.0", "~=2"])
def test_compatible_release_has_no_meaning_for_whole_number_versions(spec: str) -> None:
    problem = only_problem(f"version: 1\nmodels:\n  clf:\n    handle: owner/model\n    version: '{spec}'\n")

    assert (problem.line, problem.column, problem.key) == (5, 14, "models.clf.version")
    assert problem.hint == "Kaggle versions are whole numbers; write >=2,<3 for version 2 only, or >=2 for 2 and later"


@pytest.mark.parametrize(
    ("spec", "message", "hint"),
    [
        ("==2.1", "'==2.1': '2.1' is not a whole number", "compare with those, e.g. >=2,<4"),
        (">=1.0a1", "'>=1.0a1': '1.0a1' is not a whole number", "compare with those, e.g. >=2,<4"),
        (">=2.0", "'>=2.0': '2.0' is not a whole number", "Kaggle versions are whole numbers; write >=2"),
        ("==3.*", "'==3.*': '3.*' is not a whole number", "Kaggle versions are whole numbers; write ==3"),
        ("=>2", "'=>2' is not a PEP 440 version specifier", "write e.g. >=2,<4 or ==3"),
        ("latest", "'latest' is not a PEP 440 version specifier", "write e.g. >=2,<4 or ==3"),
    ],
)
def test_constraints_must_be_pep440_over_whole_numbers(spec: str, message: str, hint: str) -> None:
    problem = only_problem(f"version: 1\nmodels:\n  clf: owner/model@{spec}\n")

    assert (problem.line, problem.column, problem.key, problem.message) == (3, 8, "models.clf", message)
    assert problem.hint is not None and problem.hint.endswith(hint)


def test_a_bare_number_as_a_constraint_asks_for_a_specifier() -> None:
    problem = only_problem("version: 1\nmodels:\n  clf:\n    handle: owner/model\n    version: 3\n")

    assert (problem.message, problem.hint) == (
        "expected text, got the number 3",
        'write a specifier such as "==3" or ">=3"',
    )


def test_a_versioned_handle_contradicted_by_its_version_key() -> None:
    problem = only_problem("version: 1\nmodels:\n  m:\n    handle: owner/m/onnx/v/3\n    version: '>=4'\n")

    assert (problem.line, problem.column, problem.key) == (5, 14, "models.m.version")
    assert problem.message == "the handle pins version 3, which '>=4' excludes"
    assert problem.hint == "drop /3 from the handle, or the version constraint"


def test_a_versioned_handle_contradicted_by_its_shorthand_constraint() -> None:
    problem = only_problem("version: 1\nmodels:\n  m: owner/m/onnx/v/3@<3\n")

    assert (problem.key, problem.message) == ("models.m", "the handle pins version 3, which '<3' excludes")


def test_a_shorthand_with_nothing_after_the_at_sign() -> None:
    problem = only_problem("version: 1\nmodels:\n  m: owner/m@\n")

    assert problem.hint == "write handle@versions, e.g. owner/model@>=2,<4"


# --- registries ------------------------------------------------------------------------------------------------------


def test_a_model_may_only_name_a_declared_registry() -> None:
    problem = only_problem("""\
        version: 1
        registries:
          example: {url: ../registry}
        models:
          clf:
            handle: owner/model
            registry: exmaple
        """)

    assert (problem.line, problem.column, problem.key) == (7, 15, "models.clf.registry")
    assert (problem.message, problem.hint) == ("registry 'exmaple' is not declared", "did you mean 'example'?")


def test_only_the_default_kaggle_registry_exists_when_none_are_declared() -> None:
    problem = only_problem("version: 1\nmodels:\n  clf: {handle: owner/model, registry: mirror}\n")

    assert problem.hint == "declared: kaggle"


def test_a_static_registry_needs_a_url_with_a_supported_scheme() -> None:
    found = problems("""\
        version: 1
        registries:
          mirror: {}
          bucket:
            url: s3://models/registry
          kaggle:
            type: kaggel
        models: {}
        """)

    assert [(p.line, p.column, p.key, p.message) for p in found] == [
        (3, 3, "registries.mirror", "a static registry needs url:"),
        (5, 10, "registries.bucket.url", "unsupported URL scheme 's3'"),
        (7, 11, "registries.kaggle.type", "'kaggel' is not one of: kaggle, static, oci"),
    ]
    assert found[2].hint == "did you mean 'kaggle'?"


# --- environment -----------------------------------------------------------------------------------------------------


def test_a_version_yaml_read_as_a_lossy_number_must_be_quoted() -> None:
    found = problems("""\
        version: 1
        environment:
          python: 3.10
          packages:
            transformers: 4.40   # YAML reads 4.4
            numpy: 1.26          # reads back as written: fine
            tokenizers: {v: 1}
        models: {}
        """)

    assert [(p.line, p.column, p.key) for p in found] == [
        (3, 11, "environment.python"),
        (5, 19, "environment.packages.transformers"),
        (7, 5, "environment.packages.tokenizers"),  # a mapping: reported at its key
    ]
    assert found[1].message == "4.40 is read as the number 4.4, not the version as written"
    assert found[1].hint == 'quote the version: "4.40"'
    assert found[2].message == "expected text, got a mapping"


def test_environment_versions_and_package_names_must_be_valid() -> None:
    found = problems("""\
        version: 1
        environment:
          packages:
            torch: latest
            "my package": "1.0"
          detect: yes
        models: {}
        """)

    assert [(p.line, p.key, p.message, p.hint) for p in found] == [
        (4, "environment.packages.torch", "'latest' is not a version", 'write an exact version, e.g. "2.3.1"'),
        (
            5,
            "environment.packages.my package",
            "'my package' is not a Python package name",
            "use the distribution name, e.g. torch or scikit-learn",
        ),
        (6, "environment.detect", "expected true or false, got 'yes'", "write true or false"),
    ]


# --- policy ----------------------------------------------------------------------------------------------------------


def test_unknown_licences_are_denied_warned_or_allowed() -> None:
    problem = only_problem("version: 1\npolicy:\n  licenses:\n    unknown: block\nmodels: {}\n")

    assert (problem.line, problem.column, problem.key) == (4, 14, "policy.licenses.unknown")
    assert problem.message == "'block' is not one of: deny, warn, allow"


def test_an_exception_needs_a_reason_and_a_model_the_project_declares() -> None:
    found = problems("""\
        version: 1
        policy:
          licenses:
            exceptions:
              - model: lm
                allow: [LicenseRef-kmenv-Gemma]
              - model: llm
                allow: [LicenseRef-kmenv-Gemma]
                reason: "  "
        models:
          llm: google/gemma/transformers/2b-it
        """)

    assert [(p.line, p.column, p.key, p.message) for p in found] == [
        (5, 9, "policy.licenses.exceptions[0].reason", "missing key 'reason'"),
        (5, 16, "policy.licenses.exceptions[0].model", "exception for 'lm', which models: does not declare"),
        (9, 17, "policy.licenses.exceptions[1].reason", "must not be empty"),
    ]
    assert found[0].hint == 'say why the exception is acceptable, e.g. reason: "approved by legal, 2026-10"'
    assert found[1].hint == "did you mean 'llm'?"


def test_an_exception_may_name_a_full_instance_handle_but_not_a_partial_one() -> None:
    found = problems("""\
        version: 1
        policy:
          licenses:
            exceptions:
              - {model: google/gemma/transformers/2b-it, allow: [X], reason: ok}
              - {model: google/gemma, allow: [X], reason: ok}
        models: {}
        """)

    assert [(p.key, p.message) for p in found] == [
        ("policy.licenses.exceptions[1].model", "'google/gemma' is a partial handle"),
    ]


# --- all at once -----------------------------------------------------------------------------------------------------


def test_every_problem_is_reported_in_one_pass_sorted_by_line_in_our_own_words() -> None:
    found = problems("""\
        # version is missing
        registries:
          mirror: {url: ../registry}
        environment:
          packages: {transformers: 4.40}
        policy:
          licenses:
            unknown: maybe
        models:
          a: owner/a/pytorh/v
          b: owner/b@~=2.0
          c: {handle: owner/c, registry: mirorr, fles: []}
          d: owner/a/pyTorch/v/2
          'bad name': owner/e
        """)

    assert [p.key for p in found] == [
        "version",
        "environment.packages.transformers",
        "policy.licenses.unknown",
        "models.a",
        "models.b",
        "models.c.registry",
        "models.c.fles",
        "models.bad name",
    ]
    assert [p.line for p in found][1:] == sorted(p.line or 0 for p in found[1:])
    assert all(p.hint for p in found)
    assert not any("Input should" in p.message for p in found)


def test_the_error_headline_counts_problems_and_details_list_each_one() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec("version: 1\nmodels:\n  a: owner/a@~=2\n  b: owner/b@==1.5\n", "project/kmodels.yaml")

    assert str(caught.value) == "2 problems in project/kmodels.yaml"
    assert caught.value.details()[0].startswith("project/kmodels.yaml:3:6: models.a: '~=2': '~=' compares dotted")
    assert caught.value.exit_code == 2
