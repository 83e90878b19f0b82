"""Credentials are found where the official Kaggle clients look, in their order, and never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmenv.errors import UsageError
from kmenv.registry.kaggle.auth import Credentials, find_credentials

TOKEN = "KGAT_0123456789abcdef0123456789abcdef"


def write_kaggle_json(folder: Path, username: str = "alice", key: str = "k-json", mode: int = 0o600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kaggle.json"
    path.write_text(json.dumps({"username": username, "key": key}))
    path.chmod(mode)
    return path


def test_anonymous_when_nothing_is_set(tmp_path: Path) -> None:
    assert find_credentials({}, tmp_path) is None


def test_token_env_beats_username_key_and_kaggle_json(tmp_path: Path) -> None:
    write_kaggle_json(tmp_path / ".kaggle")
    env = {"KAGGLE_API_TOKEN": TOKEN, "KAGGLE_USERNAME": "bob", "KAGGLE_KEY": "k-env"}
    found = find_credentials(env, tmp_path)
    assert found is not None and found.kind == "token" and found.source == "KAGGLE_API_TOKEN"
    assert found.headers() == {"Authorization": f"Bearer {TOKEN}"}


def test_token_env_naming_a_file_reads_the_file(tmp_path: Path) -> None:
    token_file = tmp_path / "tok"
    token_file.write_text(f"  {TOKEN}\n")
    found = find_credentials({"KAGGLE_API_TOKEN": str(token_file)}, tmp_path)
    assert found is not None and found.secret == TOKEN


def test_access_token_files_under_home_come_before_username_key(tmp_path: Path) -> None:
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / "access_token.txt").write_text(TOKEN)
    found = find_credentials({"KAGGLE_USERNAME": "bob", "KAGGLE_KEY": "k"}, tmp_path)
    assert found is not None and found.source == "~/.kaggle/access_token.txt"


def test_notebook_token_file_comes_first_inside_kaggle_notebooks(tmp_path: Path) -> None:
    token_file = tmp_path / "nb-token"
    token_file.write_text("notebook-token")
    env = {
        "KAGGLE_KERNEL_RUN_TYPE": "Interactive",
        "KAGGLE_DATA_PROXY_URL": "http://proxy",
        "KAGGLE_API_V1_TOKEN": str(token_file),
        "KAGGLE_API_TOKEN": TOKEN,
    }
    found = find_credentials(env, tmp_path)
    assert found is not None and found.secret == "notebook-token"


def test_username_and_key_need_both(tmp_path: Path) -> None:
    assert find_credentials({"KAGGLE_USERNAME": "bob"}, tmp_path) is None
    found = find_credentials({"KAGGLE_USERNAME": "bob", "KAGGLE_KEY": "k-env"}, tmp_path)
    assert found is not None and found.kind == "basic"
    assert found.headers() == {"Authorization": "Basic Ym9iOmstZW52"}  # base64("bob:k-env")


def test_kaggle_json_in_config_dir_wins_over_home(tmp_path: Path) -> None:
    write_kaggle_json(tmp_path / ".kaggle", username="home-user")
    write_kaggle_json(tmp_path / "cfg", username="cfg-user")
    found = find_credentials({"KAGGLE_CONFIG_DIR": str(tmp_path / "cfg")}, tmp_path)
    assert found is not None and found.username == "cfg-user"


def test_xdg_config_is_used_when_home_kaggle_folder_is_absent(tmp_path: Path) -> None:
    write_kaggle_json(tmp_path / "xdg" / "kaggle", username="xdg-user")
    found = find_credentials({"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, tmp_path / "home")
    assert found is not None and found.username == "xdg-user"


def test_readable_kaggle_json_is_warned_about_without_the_key(tmp_path: Path) -> None:
    path = write_kaggle_json(tmp_path / ".kaggle", key="very-secret", mode=0o644)
    warnings: list[str] = []
    found = find_credentials({}, tmp_path, warn=warnings.append)
    assert found is not None
    assert warnings == [f"{path} is readable by other users; run `chmod 600 {path}`"]
    assert "very-secret" not in warnings[0]


def test_private_kaggle_json_gives_no_warning(tmp_path: Path) -> None:
    write_kaggle_json(tmp_path / ".kaggle")
    warnings: list[str] = []
    find_credentials({}, tmp_path, warn=warnings.append)
    assert warnings == []


@pytest.mark.parametrize("content", ["{not json", '{"username": "alice"}'])
def test_malformed_kaggle_json_is_an_error_not_a_fall_through(tmp_path: Path, content: str) -> None:
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / "kaggle.json").write_text(content)
    with pytest.raises(UsageError) as info:
        find_credentials({}, tmp_path)
    assert "kaggle.json" in info.value.message


def test_secrets_never_appear_in_repr_or_str() -> None:
    creds = Credentials("basic", "KAGGLE_USERNAME/KAGGLE_KEY", username="bob", secret="hunter2-key")
    assert "hunter2-key" not in repr(creds) and "hunter2-key" not in str(creds)
    assert creds.describe() == "user bob from KAGGLE_USERNAME/KAGGLE_KEY"


def test_kaggle_key_from_the_environment_takes_the_username_of_kaggle_json(tmp_path: Path) -> None:
    path = write_kaggle_json(tmp_path / ".kaggle", username="alice", key="k-json")
    found = find_credentials({"KAGGLE_KEY": "k-env"}, tmp_path)
    assert found is not None and (found.username, found.secret) == ("alice", "k-env")
    assert found.source == f"KAGGLE_KEY with the username from {path}"


def test_kaggle_json_holding_only_settings_is_not_credentials(tmp_path: Path) -> None:
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / "kaggle.json").write_text('{"proxy": "http://proxy:3128", "path": "/data"}')
    assert find_credentials({}, tmp_path) is None


def test_oauth_login_without_expiry_is_renewed(tmp_path: Path) -> None:
    (tmp_path / ".kaggle").mkdir()
    path = tmp_path / ".kaggle" / "credentials.json"
    path.write_text(json.dumps({"refresh_token": "r", "access_token": "a", "username": "dave"}))
    asked: list[str] = []

    def renew(refresh: str, lifetime: object) -> tuple[str, float]:
        asked.append(refresh)
        return "fresh", 3600.0

    found = find_credentials({}, tmp_path, renew=renew)
    assert asked == ["r"] and found is not None and found.secret == "fresh" and found.username == "dave"
    assert json.loads(path.read_text())["access_token"] == "fresh"
    again = find_credentials({}, tmp_path, renew=renew)
    assert again is not None and again.secret == "fresh" and asked == ["r"]  # still valid: not renewed again
    assert again.identity() == found.identity()
