"""Registry logins: a password in a static registry's URL is used but never written or shown; ``~/.netrc`` and
``KMENV_REGISTRY_<NAME>_TOKEN`` logins reach the registry's own host and nothing else.

Real HTTP servers on 127.0.0.1 that refuse every request without the right ``Authorization`` header; the files
of the model live on a second server ("a CDN", reached as ``localhost``) that must never see a login.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import Runner
from fetch_faults import FaultServer, fault_servers, reply, serve_folder, write_model_source, write_project

from kmenv.registry.static.build import build_registry
from kmenv.values.urls import has_userinfo, without_userinfo

USER, SECRET, TOKEN = "reader", "s3cret-Pa55", "tok-9f8e7d6c"
BASIC = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
FILES = {"weights.bin": os.urandom(8 << 10), "config.json": b'{"private": true}'}
NEEDLES = (SECRET.encode(), TOKEN.encode(), BASIC.split()[1].encode())


@dataclass
class Private:
    """A registry that wants ``expected`` as its Authorization header, and the server holding its files."""

    registry: FaultServer
    files: FaultServer
    expected: dict[str, str]

    def url(self, login: str = "") -> str:
        return self.registry.url.replace("://", f"://{login}@" if login else "://") + "/"


def _guard(server: FaultServer, wanted: dict[str, str]) -> None:
    for path, route in list(server.routes.items()):

        def guarded(handler: BaseHTTPRequestHandler, route: object = route) -> None:
            if handler.headers.get("Authorization") != wanted.get("header"):
                reply(handler, 401, b"login required", {"WWW-Authenticate": 'Basic realm="private"'})
                return
            route(handler)  # type: ignore[operator]

        server.routes[path] = guarded


@pytest.fixture
def private(tmp_path: Path) -> Iterator[Private]:
    source = write_model_source(tmp_path / "source", {"acme/private/pyTorch/default": {1: FILES}})
    folder = tmp_path / "registry"
    build_registry(source, folder, name="acme")
    with fault_servers() as start:
        registry, files = start(), start()
        cdn = files.url.replace("127.0.0.1", "localhost")
        for document in (folder / "models").rglob("*.json"):  # the files live on another host
            data = json.loads(document.read_text())
            for version in data["versions"]:
                for f in version["files"]:
                    f["url"] = f"{cdn}/files/sha256/{f['sha256'][:2]}/{f['sha256']}"
            document.write_text(json.dumps(data))
        serve_folder(registry, folder)
        serve_folder(files, folder)
        expected: dict[str, str] = {"header": BASIC}
        _guard(registry, expected)
        yield Private(registry, files, expected)


def _leaks(*folders: Path, skip: Path | None = None) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path != skip and any(n in path.read_bytes() for n in NEEDLES):
                found.append(str(path))
    return found


def test_a_login_in_the_url_is_used_but_never_written_or_shown(
    private: Private, tmp_path: Path, kmenv: Runner, isolated_dirs: Path
) -> None:
    project = write_project(
        tmp_path / "project", private.url(f"{USER}:{SECRET}"), {"m": "acme/private/pyTorch/default"}
    )
    outputs = []
    for args in (
        ("install",),
        ("list", "--json"),
        ("lock", "--json"),
        ("tree",),
        ("history",),
        ("validate", "--json"),
        ("export", "--format", "cyclonedx", "--output", str(tmp_path / "bom.json")),
        ("-v", "add", "acme/missing/pyTorch/default"),  # an error, with its traceback
    ):
        result = kmenv("-C", project, *args)
        outputs.append(result.out + result.err)
        assert result.code == (2 if "add" in args else 0), result.err  # a name the registry lacks: a user error
    assert (project / ".kmenv" / "models" / "m" / "weights.bin").read_bytes() == FILES["weights.bin"]
    lock = json.loads((project / "kmodels.lock").read_text())
    assert lock["inputs"]["registries"]["acme"]["url"] == private.url()
    bom = json.loads((tmp_path / "bom.json").read_text())
    assert bom["components"][0]["externalReferences"][0]["url"].startswith(private.url())
    private.registry.routes["/index.json"] = lambda handler: reply(handler, 500, b"down")
    (project / "kmodels.lock").unlink()
    failed = kmenv("-C", project, "-v", "lock")
    assert failed.code == 5 and "Traceback" in failed.err
    outputs.append(failed.out + failed.err)
    for text in outputs:
        assert not any(n.decode() in text for n in NEEDLES), text
    assert _leaks(project, isolated_dirs, tmp_path / "bom.json", skip=project / "kmodels.yaml") == []
    assert all("Authorization" not in seen.headers for seen in private.files.seen)  # the CDN got no login


def test_a_lock_written_with_a_login_in_it_is_rewritten_without(
    private: Private, tmp_path: Path, kmenv: Runner
) -> None:
    project = write_project(
        tmp_path / "project", private.url(f"{USER}:{SECRET}"), {"m": "acme/private/pyTorch/default"}
    )
    assert kmenv("-C", project, "lock").code == 0
    lock = json.loads((project / "kmodels.lock").read_text())
    lock["inputs"]["registries"]["acme"]["url"] = private.url(f"{USER}:{SECRET}")  # as older versions wrote it
    (project / "kmodels.lock").write_text(json.dumps(lock, indent=2))
    bom = kmenv("-C", project, "export", "--format", "cyclonedx")
    assert bom.code == 0 and SECRET not in bom.out
    assert kmenv("-C", project, "install").code == 0  # stale: the registry's URL differs, so it re-locks
    assert SECRET not in (project / "kmodels.lock").read_text()


def test_a_netrc_login_goes_to_the_registry_host_only(private: Private, tmp_path: Path, kmenv: Runner) -> None:
    netrc = Path.home() / ".netrc"
    netrc.parent.mkdir(parents=True, exist_ok=True)
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {SECRET}\n")
    netrc.chmod(0o600)
    project = write_project(tmp_path / "project", private.url(), {"m": "acme/private/pyTorch/default"})
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    assert any(s.headers.get("Authorization") == BASIC for s in private.registry.seen)
    assert private.files.seen and all("Authorization" not in s.headers for s in private.files.seen)
    assert SECRET not in (project / "kmodels.lock").read_text()


def test_a_token_from_the_environment_is_a_bearer_login_for_its_registry_only(
    private: Private, tmp_path: Path, kmenv: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    private.expected["header"] = f"Bearer {TOKEN}"
    project = write_project(tmp_path / "project", private.url(), {"m": "acme/private/pyTorch/default"})
    refused = kmenv("-C", project, "lock")
    assert refused.code == 5 and "HTTP 401" in refused.err and "KMENV_REGISTRY_ACME_TOKEN" in refused.err
    monkeypatch.setenv("KMENV_REGISTRY_ACME_TOKEN", TOKEN)
    result = kmenv("-C", project, "install")
    assert result.code == 0, result.err
    assert private.files.seen and all("Authorization" not in s.headers for s in private.files.seen)
    assert TOKEN not in result.out + result.err
    assert _leaks(project, Path(os.environ["KMENV_CACHE_DIR"]), Path(os.environ["KMENV_DATA_DIR"])) == []


def test_files_on_the_registry_host_get_its_login_too(tmp_path: Path, kmenv: Runner) -> None:
    """The usual layout, files beside the documents: the login goes with every request to that host."""
    source = write_model_source(tmp_path / "source", {"acme/private/pyTorch/default": {1: FILES}})
    build_registry(source, tmp_path / "registry", name="acme")
    with fault_servers() as start:
        server = start()
        serve_folder(server, tmp_path / "registry")
        _guard(server, {"header": BASIC})
        project = write_project(
            tmp_path / "project",
            server.url.replace("://", f"://{USER}:{SECRET}@") + "/",
            {"m": "acme/private/pyTorch/default"},
        )
        result = kmenv("-C", project, "install")
        assert result.code == 0, result.err
        sha = hashlib.sha256(FILES["weights.bin"]).hexdigest()
        assert [s.headers.get("Authorization") for s in server.hits(f"/files/sha256/{sha[:2]}/{sha}")] == [BASIC]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pass@host.example/reg/", "https://host.example/reg/"),
        ("https://user@host.example:8443/reg/index.json", "https://host.example:8443/reg/index.json"),
        ("https://a:b@c@host.example/x", "https://host.example/x"),
        ("http://host.example/no-login/", "http://host.example/no-login/"),
        ("../registry", "../registry"),
        ("file:///srv/registry", "file:///srv/registry"),
        ("https://user:pa[ss@host]/x", "https://host]/x"),  # does not parse as a URL; still no password
    ],
)
def test_without_userinfo(url: str, shown: str) -> None:
    assert without_userinfo(url) == shown
    assert has_userinfo(shown) is False
