"""``kmenv doctor`` against the emulator: a real round trip, credentials named by source only, real link probes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from catalogue import ALICE_KEY
from identities import Who
from kaggle_emulator import KaggleEmulator

if TYPE_CHECKING:
    from conftest import Runner

pytest_plugins = ["kaggle_fixtures"]  # the `emulator` and `who` fixtures


def checks(result_out: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(result_out)["checks"]}


def test_doctor_signed_in_names_the_source_never_the_key(
    emulator: KaggleEmulator, who: Who, kmenv: Runner, example: Path
) -> None:
    who("alice")
    result = kmenv("-C", example, "doctor", "--json")
    assert result.code == 0, result.out
    assert ALICE_KEY not in result.out + result.err
    document = json.loads(result.out)
    assert document["healthy"] is True and document["api"] == emulator.url
    assert document["paths"]["project"] == str(example) and document["paths"]["environment"].endswith(".kmenv")
    found = checks(result.out)
    assert found["kaggle credentials"]["detail"] == "user alice from KAGGLE_USERNAME/KAGGLE_KEY"
    assert found["kaggle api"] == {
        "name": "kaggle api",
        "status": "ok",
        "detail": f"{emulator.url}: answered, signed in as alice",
    }
    assert any(s.route == "Hello" for s in emulator.seen)
    # this machine's filesystems hard-link (tmpfs, ext4, overlayfs alike); the probe tried for real
    assert "hardlink" in found["cache link modes"]["detail"].split(" work")[0]
    assert "hardlink" in found["cache → project link modes"]["detail"].split(" work")[0]
    assert not [p for p in example.iterdir() if p.name.startswith(".kmenv-doctor-")]  # probes cleaned up
    assert "GiB free" in found["cache free space"]["detail"] or "MiB free" in found["cache free space"]["detail"]


def test_doctor_with_refused_credentials_fails_with_its_exit_code(
    emulator: KaggleEmulator, who: Who, kmenv: Runner
) -> None:
    who("alice", "not-the-key")
    result = kmenv("doctor")
    assert result.code == 8
    assert "FAILED   kaggle api:" in result.out and "credentials were refused" in result.out
    assert "not-the-key" not in result.out + result.err
    assert "(none: not in a project)" in result.out


def test_doctor_offline_skips_the_round_trip_and_anonymous_is_fine(
    emulator: KaggleEmulator, who: Who, kmenv: Runner
) -> None:
    who()
    result = kmenv("--offline", "doctor", "--json")
    assert result.code == 0
    found = checks(result.out)
    assert found["kaggle api"]["status"] == "skipped" and "offline" in found["kaggle api"]["detail"]
    assert found["kaggle credentials"]["detail"].startswith("none found")
    assert not [s for s in emulator.seen if s.route == "Hello"]
    online = checks(kmenv("doctor", "--json").out)
    expected = {"name": "kaggle api", "status": "ok", "detail": f"{emulator.url}: answered (anonymous)"}
    assert online["kaggle api"] == expected


def test_doctor_with_an_unreachable_api_or_an_unwritable_cache_fails(
    kmenv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("KMENV_KAGGLE_URL", f"http://127.0.0.1:{port}/v1")
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("KMENV_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot be created
    result = kmenv("doctor", "--json")
    assert result.code == 8
    found = checks(result.out)
    assert found["kaggle api"]["status"] == "fail" and "no answer" in found["kaggle api"]["detail"]
    assert found["cache link modes"]["status"] == "fail" and "cannot create" in found["cache link modes"]["detail"]


@pytest.mark.skipif(os.name != "posix", reason="the subprocess shape below is POSIX's")
def test_doctor_runs_as_a_real_command(emulator: KaggleEmulator, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kmenv", "doctor"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("version:") and f"ok       kaggle api: {emulator.url}: answered" in proc.stdout
