"""Handles: full, versioned and partial forms, and framework spellings as Kaggle's clients accept them."""

from __future__ import annotations

import pytest

from kmenv.errors import HandleError
from kmenv.values.handles import FRAMEWORKS, Handle, closest_framework, normalise_framework


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("google/gemma/transformers/2b-it", Handle("google", "gemma", "transformers", "2b-it")),
        ("keras/bert/keras/bert_tiny_en_uncased/2", Handle("keras", "bert", "keras", "bert_tiny_en_uncased", 2)),
        ("google/speciesnet/keras/v4.0.0a", Handle("google", "speciesnet", "keras", "v4.0.0a")),
        ("google/gemma", Handle("google", "gemma")),
        ("google/gemma/2b-it", Handle("google", "gemma", None, "2b-it")),
        ("metaresearch/llama-2/PyTorch/7b", Handle("metaresearch", "llama-2", "pyTorch", "7b")),
    ],
)
def test_parse_round_trips_to_canonical_spelling(text: str, expected: Handle) -> None:
    handle = Handle.parse(text)
    assert handle == expected
    assert Handle.parse(str(handle)) == handle


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("pytorch", "pyTorch"),
        ("PyTorch", "pyTorch"),
        ("MODEL_FRAMEWORK_PY_TORCH", "pyTorch"),
        ("tensorflow2", "tensorFlow2"),
        ("gemma_cpp", "gemmaCpp"),
        ("vLLM", "vllm"),
        ("scikit-learn", "scikitLearn"),
    ],
)
def test_framework_spellings(spelling: str, canonical: str) -> None:
    assert normalise_framework(spelling) == canonical


def test_every_canonical_framework_normalises_to_itself() -> None:
    assert all(normalise_framework(f) == f for f in FRAMEWORKS)


def test_unknown_framework_suggests_the_closest() -> None:
    with pytest.raises(HandleError) as err:
        Handle.parse("google/gemma/transfomers/2b")
    assert "unknown framework 'transfomers'" in str(err.value)
    assert err.value.hint == "did you mean 'transformers'?"
    assert closest_framework("pytorh") == "pyTorch"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("google", "has 1 parts"),
        ("google//keras/x", "empty part"),
        ("google/gemma/keras", "names a framework but no variation"),
        ("google/gemma/keras/2b/0", "not a positive integer"),
        ("google/gemma/keras/2b/v3", "not a positive integer"),
        ("a/b/keras/c/1/2", "has 6 parts"),
        ("a/b c/keras/d", "invalid part"),
    ],
)
def test_malformed_handles_are_explained(text: str, fragment: str) -> None:
    with pytest.raises(HandleError) as err:
        Handle.parse(text)
    assert fragment in str(err.value)
    assert err.value.hint


def test_partial_handles_admit_full_ones() -> None:
    full = Handle.parse("google/gemma/keras/2b")
    assert Handle.parse("google/gemma").admits(full)
    assert Handle.parse("google/gemma/2b").admits(full)
    assert not Handle.parse("google/gemma/7b").admits(full)
    assert not Handle.parse("google/other").admits(full)
    assert full.with_version(3).unversioned() == full
    with pytest.raises(ValueError, match="partial"):
        _ = Handle.parse("google/gemma").instance


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://www.kaggle.com/models/google/gemma/pyTorch/2b/3", "google/gemma/pyTorch/2b/3"),
        ("https://www.kaggle.com/models/google/gemma/PyTorch/2b", "google/gemma/pyTorch/2b"),
        ("https://kaggle.com/models/google/gemma", "google/gemma"),
        ("http://www.kaggle.com/models/google/gemma/pyTorch/2b/", "google/gemma/pyTorch/2b"),
        ("https://www.kaggle.com/models/google/gemma/pyTorch/2b/1?select=x#files", "google/gemma/pyTorch/2b/1"),
        ("https://www.kaggle.com/models/google/gemma/frameworks/PyTorch/variations/2b/versions/3",
         "google/gemma/pyTorch/2b/3"),
        ("https://www.kaggle.com/models/google/gemma/frameworks/PyTorch/variations/2b", "google/gemma/pyTorch/2b"),
        ("kaggle://google/gemma/pytorch/2b/1", "google/gemma/pyTorch/2b/1"),
        ("kaggle://google/gemma/pyTorch/2b", "google/gemma/pyTorch/2b"),
        ("  kaggle://keras/bert/keras/bert_tiny_en_uncased  ", "keras/bert/keras/bert_tiny_en_uncased"),
    ],
)  # fmt: skip
def test_kaggle_urls_and_kaggle_scheme_read_as_handles(text: str, expected: str) -> None:
    assert str(Handle.parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://example.com/models/google/gemma", "is not a Kaggle model address"),
        ("ftp://www.kaggle.com/models/google/gemma", "is not a Kaggle model address"),
        ("https://www.kaggle.com/datasets/google/gemma", "is not a Kaggle model page"),
        ("https://www.kaggle.com/models/google", "is not a Kaggle model page"),
        ("https://www.kaggle.com/models/google/gemma/frameworks/PyTorch/versions/2b", "is not a Kaggle model page"),
        ("https://www.kaggle.com/models/google/gemma/pyTorch/2b/3/code", "has 6 parts"),
        ("kaggle://google/gemma/pyTorch/2b/latest", "is not a positive integer"),
    ],
)
def test_addresses_that_are_not_model_pages_are_refused_with_a_hint(text: str, message: str) -> None:
    with pytest.raises(HandleError) as info:
        Handle.parse(text)
    assert message in info.value.message and info.value.hint


def test_canonical_requirement_keeps_the_spec() -> None:
    from kmenv.values.handles import canonical_requirement

    assert canonical_requirement("https://www.kaggle.com/models/acme/chat-llm/PyTorch/small-chat@<2") == (
        "acme/chat-llm/pyTorch/small-chat@<2"
    )
    assert canonical_requirement("kaggle://acme/chat-llm/pytorch/small-chat/1") == "acme/chat-llm/pyTorch/small-chat/1"
