"""Logins and TLS as container tools do them, against docker-registry with htpasswd behind a self-signed certificate.

The bearer-token flow runs against the proxy in ``oci_proxy.py`` playing a token server in front of
the plain registry (Distribution's own token auth needs a separate token service).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from oci.conftest import PASSWORD, USER
from oci.oci_helpers import files_of, push_with_kmenv, write_model
from oci.oci_proxy import TOKEN, running_proxy

if TYPE_CHECKING:
    from conftest import Result, Runner

    from oci.conftest import RunningRegistry

HANDLE = "acme/tiny/pyTorch/base"


def _project(tmp_path: Path, url: str) -> Path:
    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    (project / "kmodels.yaml").write_text(
        f"version: 1\nregistries:\n  team:\n    url: {url}\nmodels:\n  tiny: {HANDLE}\n"
    )
    return project


def _docker_config(folder: Path, document: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(document))
    return folder / "config.json"


def _auth(user: str = USER, password: str = PASSWORD) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _trust(registry: RunningRegistry, isolated_dirs: Path) -> None:
    """Put the registry's certificate where kmenv looks for a host's CA (its config folder's certs.d)."""
    assert registry.ca is not None
    folder = isolated_dirs / "config" / "certs.d" / registry.host
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(registry.ca, folder / "ca.crt")


def _no_secret_anywhere(result: Result, *folders: Path) -> None:
    for secret in (PASSWORD, _auth(), TOKEN):
        assert secret not in result.out + result.err
        for folder in folders:
            for path in folder.rglob("*"):
                if path.is_file() and path.name not in ("config.json", "auth.json", "htpasswd"):
                    assert secret.encode() not in path.read_bytes(), path


def test_an_untrusted_certificate_is_refused_with_where_to_put_the_ca(
    oci_secure_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    result = kmenv("-C", _project(tmp_path, oci_secure_registry.url(namespace)), "lock")
    assert result.code == 5, result.err
    assert f"TLS verification of {oci_secure_registry.host} failed" in result.err
    assert f"{isolated_dirs / 'config' / 'certs.d'}/{oci_secure_registry.host}/ca.crt" in result.err


def test_without_a_login_the_error_says_how_to_log_in(
    oci_secure_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    _trust(oci_secure_registry, isolated_dirs)
    result = kmenv("-C", _project(tmp_path, oci_secure_registry.url(namespace)), "lock")
    assert result.code == 5, result.err
    assert "needs a login (HTTP 401)" in result.err
    assert f"docker login {oci_secure_registry.host}" in result.err


def test_a_wrong_password_is_refused(
    oci_secure_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    _trust(oci_secure_registry, isolated_dirs)
    _docker_config(
        isolated_dirs / "home" / ".docker", {"auths": {oci_secure_registry.host: {"auth": _auth(USER, "nope")}}}
    )
    result = kmenv("-C", _project(tmp_path, oci_secure_registry.url(namespace)), "lock")
    assert result.code == 5, result.err
    assert "refused the login (HTTP 401)" in result.err and "nope" not in result.err


@pytest.mark.parametrize("where", ["docker-config", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "helper"])
def test_push_and_install_with_a_login_from_where_container_tools_keep_it(
    oci_secure_registry: RunningRegistry,
    namespace: str,
    tmp_path: Path,
    kmenv: Runner,
    isolated_dirs: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    host = oci_secure_registry.host
    _trust(oci_secure_registry, isolated_dirs)
    entry = {"auths": {f"https://{host}": {"auth": _auth()}}}
    if where == "docker-config":
        _docker_config(isolated_dirs / "home" / ".docker", entry)
    elif where == "DOCKER_CONFIG":
        monkeypatch.setenv("DOCKER_CONFIG", str(_docker_config(tmp_path / "dockercfg", entry).parent))
    elif where == "REGISTRY_AUTH_FILE":
        path = _docker_config(tmp_path / "podman", {"auths": {f"{host}/{namespace}": {"auth": _auth()}}})
        monkeypatch.setenv("REGISTRY_AUTH_FILE", str(path))
    elif where == "XDG_RUNTIME_DIR":
        (tmp_path / "run" / "containers").mkdir(parents=True)
        (tmp_path / "run" / "containers" / "auth.json").write_text(json.dumps(entry))
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    else:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        helper = bin_dir / "docker-credential-kmtest"
        answer = json.dumps({"ServerURL": host, "Username": USER, "Secret": PASSWORD})
        helper.write_text(f'#!/bin/sh\nread host\n[ "$host" = "{host}" ] && echo \'{answer}\' && exit 0\nexit 1\n')
        helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        _docker_config(isolated_dirs / "home" / ".docker", {"credHelpers": {host: "kmtest"}})
    files = files_of(1)
    push_with_kmenv(oci_secure_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "m", files))
    project = _project(tmp_path, oci_secure_registry.url(namespace))
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    for path, data in files.items():
        assert (project / ".kmenv" / "models" / "tiny" / path).read_bytes() == data
    _no_secret_anywhere(result, project, isolated_dirs / "cache", isolated_dirs / "data")


def test_the_bearer_token_flow_sends_the_login_only_to_the_token_server(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    files = files_of(1)
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "m", files))
    with running_proxy(oci_registry.host, bearer=(USER, PASSWORD)) as proxy:
        _docker_config(isolated_dirs / "home" / ".docker", {"auths": {proxy.host: {"auth": _auth()}}})
        project = _project(tmp_path, proxy.url(namespace))
        result = kmenv("-C", project, "install")
        assert result.code == 0, result.err
        seen = list(proxy.seen)
    for path, data in files.items():
        assert (project / ".kmenv" / "models" / "tiny" / path).read_bytes() == data
    token_calls = [s for s in seen if s[1].startswith("/token")]
    assert token_calls and all(auth == f"Basic {_auth()}" for _, _, auth in token_calls)
    assert "scope=repository%3A" in token_calls[0][1] and "service=test-registry" in token_calls[0][1]
    others = [auth for _, path, auth in seen if not path.startswith("/token")]
    assert all(auth is None or auth == f"Bearer {TOKEN}" for auth in others)
    assert f"Bearer {TOKEN}" in others
    _no_secret_anywhere(result, project, isolated_dirs / "cache", isolated_dirs / "data")


def test_a_plain_http_token_server_on_another_host_never_gets_the_login(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "m", files_of(1)))
    with running_proxy(oci_registry.host, bearer=(USER, PASSWORD)) as proxy:
        proxy.token_realm = f"http://localhost:{proxy.host.rsplit(':', 1)[1]}/token"
        _docker_config(isolated_dirs / "home" / ".docker", {"auths": {proxy.host: {"auth": _auth()}}})
        result = kmenv("-C", _project(tmp_path, proxy.url(namespace)), "lock")
        seen = list(proxy.seen)
    assert result.code == 5, result.err
    assert "refused an anonymous token" in result.err
    assert all(auth is None for _, path, auth in seen if path.startswith("/token"))


def test_blobs_redirected_to_storage_elsewhere_get_no_token(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    files = files_of(2)
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 2, write_model(tmp_path / "m", files))
    with running_proxy(oci_registry.host, bearer=(USER, PASSWORD), redirect_blobs=True) as proxy:
        _docker_config(isolated_dirs / "home" / ".docker", {"auths": {proxy.host: {"auth": _auth()}}})
        project = _project(tmp_path, proxy.url(namespace))
        result = kmenv("-C", project, "install")
        seen = list(proxy.seen)
    assert result.code == 0, result.err
    for path, data in files.items():
        assert (project / ".kmenv" / "models" / "tiny" / path).read_bytes() == data
    storage = [(method, auth) for method, path, auth in seen if path.startswith("/storage/")]
    assert ("GET", None) in storage and all(auth is None for _, auth in storage)


def test_a_download_that_outlives_its_token_asks_for_a_new_one(
    oci_registry: RunningRegistry, namespace: str, tmp_path: Path, isolated_dirs: Path
) -> None:
    import time
    from contextlib import closing

    from kmenv.config import Settings
    from kmenv.fetch import FetchJob, fetch_all
    from kmenv.registry.oci import open_oci
    from kmenv.store.blobstore import Store
    from kmenv.values.handles import Handle

    files = files_of(1)
    push_with_kmenv(oci_registry.url(namespace), HANDLE, 1, write_model(tmp_path / "m", files))
    with running_proxy(oci_registry.host, bearer=(USER, PASSWORD), token_lifetime=6) as proxy:
        _docker_config(isolated_dirs / "home" / ".docker", {"auths": {proxy.host: {"auth": _auth()}}})
        with closing(open_oci("team", proxy.url(namespace), settings=Settings.load())) as registry:
            (candidate,) = registry.versions(Handle.parse(HANDLE))
            jobs = [FetchJob(registry.source(candidate, f), f, f.path) for f in candidate.files]
            issued = proxy.tokens_issued
            time.sleep(1.5)  # the token is kept until 5 s before it expires: 1 s here
            report = fetch_all(Store(tmp_path / "store"), jobs, workers=2)
        assert proxy.tokens_issued > issued  # a fresh token, which alone the server now accepts
    assert report.files == len(files)
