"""The Kaggle API client on the wire: URLs, bodies, auth headers, retries, error mapping, pagination."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalogue import ALICE_KEY, ALICE_TOKEN, Sleeps, make_registry
from kaggle_emulator import KaggleEmulator

from kmenv.errors import EXIT_REGISTRY, EXIT_USAGE, ModelNotFoundError, NetworkError, RegistryError, UsageError
from kmenv.registry.kaggle.client import DEFAULT_URL, KaggleClient, resolve_base_url
from kmenv.values.handles import Handle

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` fixture

BERT = Handle.parse("keras/bert/keras/bert_tiny_en_uncased")


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({}, None, DEFAULT_URL),
        ({"KAGGLE_API_ENVIRONMENT": "PROD"}, None, "https://api.kaggle.com/v1"),
        ({"KAGGLE_API_ENVIRONMENT": "test"}, None, "http://localhost:7777/api/v1"),
        ({"KAGGLE_API_ENVIRONMENT": "LOCALHOST"}, None, "http://localhost/api/v1"),
        (
            {"KAGGLE_API_ENVIRONMENT": "TEST", "KMENV_KAGGLE_URL": "http://127.0.0.1:9/api/v1/"},
            None,
            "http://127.0.0.1:9/api/v1",
        ),
        ({"KMENV_KAGGLE_URL": "http://127.0.0.1:9/api/v1"}, "https://mirror.example/v1", "https://mirror.example/v1"),
    ],
)
def test_base_url_precedence(env: dict[str, str], url: str | None, expected: str) -> None:
    assert resolve_base_url(url, env) == expected


def test_unknown_api_environment_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="KAGGLE_API_ENVIRONMENT"):
        resolve_base_url(None, {"KAGGLE_API_ENVIRONMENT": "MARS"})


def test_rpc_bodies_are_camel_case_with_full_enum_names(emulator: KaggleEmulator, tmp_path: Path) -> None:
    registry = make_registry(emulator, tmp_path)
    registry.versions(BERT)
    get = emulator.requests_to("GetModelInstance")[0]
    assert get.method == "POST" and get.path == "/api/v1/models.ModelApiService/GetModelInstance"
    assert get.body == {
        "ownerSlug": "keras",
        "modelSlug": "bert",
        "framework": "MODEL_FRAMEWORK_KERAS",
        "instanceSlug": "bert_tiny_en_uncased",
    }
    assert get.headers["Content-Type"] == "application/json"
    assert "Authorization" not in get.headers  # anonymous: public models need no credentials


def test_prod_layout_routes_answer_too(emulator: KaggleEmulator, tmp_path: Path) -> None:
    client = KaggleClient(f"{emulator.origin}/v1", env={})
    data = client.call(
        "GetModelInstance",
        {"ownerSlug": "keras", "modelSlug": "bert", "framework": "keras", "instanceSlug": "bert_tiny_en_uncased"},
        what="bert",
    )
    assert data["versionNumber"] == 2


def test_token_goes_as_bearer_and_username_key_as_basic(emulator: KaggleEmulator, tmp_path: Path) -> None:
    make_registry(emulator, tmp_path / "a", env={"KAGGLE_API_TOKEN": ALICE_TOKEN}).instance_info(BERT)
    make_registry(emulator, tmp_path / "b", env={"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": ALICE_KEY}).instance_info(
        BERT
    )
    first, second = emulator.requests_to("GetModelInstance")
    assert first.headers["Authorization"] == f"Bearer {ALICE_TOKEN}"
    assert second.headers["Authorization"].startswith("Basic ")


def test_429_is_retried_honouring_retry_after_in_both_error_shapes(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("GetModelInstance", status=429, retry_after="3")
    emulator.fault("GetModelInstance", status=429, retry_after="2", shape="google")
    sleeps = Sleeps()
    info = make_registry(emulator, tmp_path, sleeps=sleeps).instance_info(BERT)
    assert info.latest == 2
    assert sleeps.waits == [3.0, 2.0]
    assert len(emulator.requests_to("GetModelInstance")) == 3


def test_5xx_and_dropped_connections_are_retried_with_growing_jittered_backoff(
    emulator: KaggleEmulator, tmp_path: Path
) -> None:
    emulator.fault("GetModelInstance", status=503)
    emulator.fault("GetModelInstance", kind="drop")
    sleeps = Sleeps()
    assert make_registry(emulator, tmp_path, sleeps=sleeps).instance_info(BERT).latest == 2
    assert len(sleeps.waits) == 2
    assert 0.25 <= sleeps.waits[0] <= 0.5 and 0.5 <= sleeps.waits[1] <= 1.0


def test_persistent_5xx_fails_with_what_was_tried(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("GetModelInstance", status=500, times=10)
    with pytest.raises(NetworkError) as info:
        make_registry(emulator, tmp_path).instance_info(BERT)
    assert info.value.exit_code == EXIT_REGISTRY
    assert "after 4 attempts: HTTP 500 (Backend error)" in info.value.message
    assert len(emulator.requests_to("GetModelInstance")) == 4


def test_a_retry_after_beyond_the_bound_is_not_waited_for(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("GetModelInstance", status=429, retry_after="3600")
    sleeps = Sleeps()
    with pytest.raises(NetworkError, match="asked to wait 3600 s"):
        make_registry(emulator, tmp_path, sleeps=sleeps).instance_info(BERT)
    assert sleeps.waits == []


def test_other_4xx_are_not_retried(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("GetModelInstance", status=400)
    with pytest.raises(RegistryError, match="HTTP 400"):
        make_registry(emulator, tmp_path).instance_info(BERT)
    assert len(emulator.requests_to("GetModelInstance")) == 1


def test_200_carrying_an_error_code_is_an_error(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.fault("GetModelInstance", kind="ok_with_error", status=404)
    with pytest.raises(ModelNotFoundError):
        make_registry(emulator, tmp_path).instance_info(BERT)


def test_401_says_how_to_set_credentials_and_never_shows_them(emulator: KaggleEmulator, tmp_path: Path) -> None:
    registry = make_registry(emulator, tmp_path, env={"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": "wrong-key-123"})
    with pytest.raises(RegistryError) as info:
        registry.instance_info(BERT)
    assert "HTTP 401" in info.value.message and "KAGGLE_USERNAME/KAGGLE_KEY" in info.value.message
    assert info.value.hint is not None and "KAGGLE_API_TOKEN" in info.value.hint
    assert "wrong-key-123" not in f"{info.value} {info.value.hint} {info.value!r}"


def test_404_is_model_not_found(emulator: KaggleEmulator, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        make_registry(emulator, tmp_path).instance_info(Handle.parse("keras/bert/keras/nope"))
    assert info.value.exit_code == EXIT_USAGE  # a name that does not exist is the user's to fix
    assert info.value.message == "Kaggle model keras/bert has no instance keras/nope"


def test_private_models_need_their_owner(emulator: KaggleEmulator, tmp_path: Path) -> None:
    handle = Handle.parse("alice/private-thing/other/v1")
    with pytest.raises(ModelNotFoundError):
        make_registry(emulator, tmp_path / "anon").instance_info(handle)
    assert make_registry(emulator, tmp_path / "alice", env={"KAGGLE_API_TOKEN": ALICE_TOKEN}).instance_info(handle)


def test_every_page_is_followed(emulator: KaggleEmulator, tmp_path: Path) -> None:
    emulator.max_page_size = 2
    files = make_registry(emulator, tmp_path).list_files(Handle.parse("acme/shards/pyTorch/many/1"))
    assert len(files) == 30 and files[0].path == "shard-000.bin"
    assert len(emulator.requests_to("ListModelInstanceVersionFiles")) == 15
