"""KMENV_* variables: a bad value is exit 2 naming the variable, with a hint; never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import Runner

from kmenv.config import DEFAULT_WORKERS, MAX_WORKERS, Settings, ledger_dir
from kmenv.errors import UsageError


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("²", "is not a whole number"),  # str.isdigit accepts it, int() does not
        ("١٢", "is not a whole number"),  # Arabic-Indic digits: int() would accept them
        ("9" * 5000, f"is more than {MAX_WORKERS}"),  # past Python's int conversion limit
        ("0", "at least one download must run"),
        ("000", "at least one download must run"),
        (str(MAX_WORKERS + 1), f"is more than {MAX_WORKERS}"),
        ("-1", "is not a whole number"),
        ("8.0", "is not a whole number"),
        ("8 workers", "is not a whole number"),
    ],
)
def test_a_bad_worker_count_is_a_usage_error_naming_the_variable(
    kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("KMENV_MAX_WORKERS", value)
    started = time.monotonic()
    result = kmenv("-C", tmp_path, "cache", "info")
    assert time.monotonic() - started < 20
    assert result.code == 2 and "Traceback" not in result.err and len(result.err) < 400
    first, hint = result.err.splitlines()
    assert first.startswith("error: KMENV_MAX_WORKERS=") and message in first
    assert hint == f"hint: set KMENV_MAX_WORKERS to a whole number from 1 to {MAX_WORKERS}, e.g. 8, or unset it"


@pytest.mark.parametrize(("value", "workers"), [("", DEFAULT_WORKERS), (" 4 ", 4), ("007", 7), ("256", MAX_WORKERS)])
def test_a_good_worker_count_is_read(monkeypatch: pytest.MonkeyPatch, value: str, workers: int) -> None:
    monkeypatch.setenv("KMENV_MAX_WORKERS", value)
    assert Settings.load().max_workers == workers


def test_a_long_link_mode_is_quoted_cut_short(kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMENV_LINK_MODE", "x" * 5000)
    result = kmenv("-C", tmp_path, "cache", "info")
    assert result.code == 2 and len(result.err) < 400 and "KMENV_LINK_MODE" in result.err


@pytest.mark.parametrize("var", ["KMENV_CACHE_DIR", "KMENV_DATA_DIR", "KMENV_CONFIG_DIR"])
def test_a_folder_of_a_user_that_does_not_exist_is_a_usage_error(
    kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    monkeypatch.setenv(var, "~no-such-user-kmenv/folder")
    result = kmenv("-C", tmp_path, "cache", "info")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith(f"error: {var}='~no-such-user-kmenv/folder' is not a usable folder")


def test_the_ledger_folder_names_its_variable_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMENV_DATA_DIR", "~no-such-user-kmenv/data")
    with pytest.raises(UsageError, match="KMENV_DATA_DIR="):
        ledger_dir()
