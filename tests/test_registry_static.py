"""StaticRegistry: the same answers from a folder, a file:// URL and HTTP; each failure mapped to its error.

The happy paths read the bundled example registry (``examples/registry``); failures use small
documents written by hand or a local HTTP server that misbehaves on purpose.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kmenv.errors import (
    EXIT_REGISTRY,
    EXIT_USAGE,
    ModelNotFoundError,
    NetworkError,
    RegistryDocumentError,
    RegistryError,
    UsageError,
)
from kmenv.registry.base import Registry
from kmenv.registry.static.registry import StaticRegistry
from kmenv.values.candidates import BaseModelRef, Candidate, FileEntry
from kmenv.values.handles import Handle

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "registry"
BERT = Handle.parse("kmenv-examples/tiny-bert/transformers/base")
LORA = Handle.parse("kmenv-examples/tiny-lm-lora/pyTorch/chat")


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def serve(httpserver: HTTPServer, folder: Path, prefix: str = "/reg/") -> str:
    """Serve ``folder`` under ``prefix`` the way a static web server would; returns its URL."""

    def handler(request: Request) -> Response:
        target = folder / request.path[len(prefix) :]
        if not target.is_file():
            return Response("not found", status=404)
        return Response(target.read_bytes(), content_type="application/octet-stream")

    httpserver.expect_request(re.compile("^" + re.escape(prefix))).respond_with_handler(handler)
    return httpserver.url_for(prefix)


def without_urls(candidates: list[Candidate]) -> list[Candidate]:
    return [replace(c, files=tuple(replace(f, url=None) for f in c.files)) for c in candidates]


def read_url(url: str, session: requests.Session) -> bytes:
    if url.startswith("file:"):
        return Path(url2pathname(urlsplit(url).path)).read_bytes()
    response = session.get(url, timeout=5)
    response.raise_for_status()
    return response.content


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- what a registry answers ---------------------------------------------------------------


def test_it_is_a_registry_and_its_constructor_touches_nothing() -> None:
    registry = StaticRegistry("nowhere", "/no/such/folder")
    assert isinstance(registry, Registry)
    StaticRegistry("offline", f"http://127.0.0.1:{free_port()}/registry/")  # no connection attempted


def test_prefetch_is_the_protocol_default_and_touches_nothing() -> None:
    registry = StaticRegistry("offline", f"http://127.0.0.1:{free_port()}/registry/")
    assert type(registry).prefetch is Registry.prefetch
    registry.prefetch(["acme/m", BERT])  # no connection attempted


def test_versions_come_newest_first_with_the_framework_requirements_merged() -> None:
    registry = StaticRegistry("example", str(EXAMPLE))
    versions = registry.versions(BERT)
    assert [c.version for c in versions] == [4, 3, 2, 1]
    newest = versions[0]
    assert newest.handle == BERT.with_version(4)
    assert newest.registry == "example"
    assert newest.license == "Apache 2.0"
    assert newest.requires == {"torch": "", "transformers": ">=4.50"}
    assert versions[1].requires == {"torch": "", "transformers": ">=4.30"}
    assert newest.title == "Tiny BERT"
    assert newest.published == "2025-03-25T09:00:00Z"
    assert [f.path for f in newest.files] == sorted(f.path for f in newest.files)


def test_a_fine_tune_names_its_base_in_the_same_registry() -> None:
    registry = StaticRegistry("example", str(EXAMPLE))
    by_version = {c.version: c for c in registry.versions(LORA)}
    base = Handle.parse("kmenv-examples/tiny-lm/pyTorch/base")
    assert by_version[3].base == BaseModelRef(base, ">=2", registry="example")
    assert by_version[1].base == BaseModelRef(base, ">=1", registry="example")
    assert by_version[3].requires == {"peft": ">=0.10", "torch": ""}


def test_instances_lists_every_framework_and_variation_of_a_model() -> None:
    registry = StaticRegistry("example", str(EXAMPLE))
    assert registry.instances("kmenv-examples", "tiny-bert") == [BERT]
    every = registry.list_all()
    assert list(every) == sorted(every)
    assert BERT in every and LORA in every


def test_folder_file_url_and_http_give_the_same_candidates(httpserver: HTTPServer, session: requests.Session) -> None:
    by_folder = StaticRegistry("example", "registry", base_dir=EXAMPLE.parent)
    by_file_url = StaticRegistry("example", EXAMPLE.as_uri() + "/index.json")
    by_http = StaticRegistry("example", serve(httpserver, EXAMPLE), session=session)
    every = by_folder.list_all()
    assert by_file_url.list_all() == every == by_http.list_all()
    for handle in every:
        expected = without_urls(list(by_folder.versions(handle)))
        assert without_urls(list(by_file_url.versions(handle))) == expected
        assert without_urls(list(by_http.versions(handle))) == expected


@pytest.mark.parametrize("kind", ["folder", "http"])
def test_every_source_url_serves_the_bytes_its_hash_promises(
    kind: str, httpserver: HTTPServer, session: requests.Session
) -> None:
    location = str(EXAMPLE) if kind == "folder" else serve(httpserver, EXAMPLE)
    registry = StaticRegistry("example", location, session=session)
    for candidate in registry.versions(LORA):
        assert registry.files(candidate) == candidate.files
        for entry in candidate.files:
            source = registry.source(candidate, entry)
            assert source.url.startswith("file:///" if kind == "folder" else "http://")
            data = read_url(source.url, session)
            assert (len(data), hashlib.sha256(data).hexdigest()) == (entry.size, entry.sha256)


def test_source_finds_a_file_named_by_a_lock_made_elsewhere(tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(EXAMPLE, moved)
    registry = StaticRegistry("example", str(moved))
    candidate = registry.versions(BERT)[0]
    wanted = candidate.files[0]
    from_lock = FileEntry(wanted.path, wanted.size, wanted.sha256, url="file:///elsewhere/files/x")
    assert registry.source(candidate, from_lock).url == wanted.url
    assert registry.source(candidate, replace(wanted, url=None)).url == wanted.url
    with pytest.raises(ModelNotFoundError, match=r"has no file 'missing\.bin'"):
        registry.source(candidate, FileEntry("missing.bin", 1, "0" * 64))


# -- not found -----------------------------------------------------------------------------


def test_an_unknown_instance_suggests_close_handles() -> None:
    registry = StaticRegistry("example", str(EXAMPLE))
    with pytest.raises(ModelNotFoundError) as caught:
        registry.versions(Handle.parse("kmenv-examples/tiny-bert/transformers/bsae"))
    assert "registry 'example' has no model kmenv-examples/tiny-bert/transformers/bsae" in str(caught.value)
    assert caught.value.hint is not None and str(BERT) in caught.value.hint
    assert caught.value.exit_code == EXIT_USAGE


def test_an_unknown_model_suggests_close_models() -> None:
    registry = StaticRegistry("example", str(EXAMPLE))
    with pytest.raises(ModelNotFoundError) as caught:
        registry.instances("kmenv-examples", "tiny-brt")
    assert caught.value.hint is not None and caught.value.hint.startswith("did you mean kmenv-examples/tiny-bert")
    with pytest.raises(ModelNotFoundError) as caught:
        registry.instances("someone", "else")
    assert caught.value.hint is not None and "kmenv search" in caught.value.hint


def test_an_unknown_version_lists_the_known_ones() -> None:
    registry = StaticRegistry("example", str(EXAMPLE))
    ghost = replace(registry.versions(BERT)[0], handle=BERT.with_version(9))
    with pytest.raises(ModelNotFoundError, match="no version 9 of") as caught:
        registry.files(ghost)
    assert caught.value.hint == "its versions are 4, 3, 2, 1"


# -- broken registries ---------------------------------------------------------------------


def write_registry(root: Path, document: object, *, index: object | None = None) -> Path:
    """A one-instance registry at ``root`` whose instance document is ``document``."""
    root.mkdir(parents=True, exist_ok=True)
    if index is None:
        index = {
            "format": 1,
            "name": "hand",
            "instances": [{"handle": "acme/m/onnx/v", "document": "m.json", "latest": 1}],
        }
    (root / "index.json").write_text(json.dumps(index))
    (root / "m.json").write_text(document if isinstance(document, str) else json.dumps(document))
    return root


def one_version(url: str = "blob") -> dict[str, object]:
    return {
        "format": 1,
        "handle": "acme/m/onnx/v",
        "versions": [
            {
                "version": 1,
                "license": "MIT",
                "published": "2024-01-01T00:00:00Z",
                "files": [{"path": "model.onnx", "size": 1, "sha256": "0" * 64, "url": url}],
            }
        ],
    }


def test_a_folder_without_an_index_is_a_registry_error_with_a_hint(tmp_path: Path) -> None:
    registry = StaticRegistry("mine", str(tmp_path / "nothing-here"))
    with pytest.raises(RegistryError) as caught:
        registry.list_all()
    assert type(caught.value) is RegistryError
    assert str(tmp_path / "nothing-here" / "index.json") in str(caught.value)
    assert caught.value.hint is not None and "is the registry url right?" in caught.value.hint
    assert caught.value.exit_code == EXIT_REGISTRY


def test_a_listed_document_that_is_missing_is_named(tmp_path: Path) -> None:
    root = write_registry(tmp_path, one_version())
    (root / "m.json").unlink()
    with pytest.raises(RegistryError, match=r"lists acme/m/onnx/v but its document .*m\.json is missing"):
        StaticRegistry("mine", str(root)).versions(Handle.parse("acme/m/onnx/v"))


def test_invalid_json_is_a_document_error_with_its_place(tmp_path: Path) -> None:
    root = write_registry(tmp_path, '{"format": 1,\n  "handle": oops}')
    with pytest.raises(RegistryDocumentError) as caught:
        StaticRegistry("mine", str(root)).versions(Handle.parse("acme/m/onnx/v"))
    assert str(caught.value) == f"{root / 'm.json'}:2:13: not valid JSON (Expecting value)"
    assert caught.value.exit_code == EXIT_USAGE


def test_a_schema_break_names_the_json_path(tmp_path: Path) -> None:
    broken = one_version()
    broken["versions"][0]["files"][0]["sha256"] = "xyz"  # type: ignore[index]
    root = write_registry(tmp_path, broken)
    with pytest.raises(RegistryDocumentError, match=r"m\.json: 1 problem: \$\.versions\[0\]\.files\[0\]\.sha256"):
        StaticRegistry("mine", str(root)).versions(Handle.parse("acme/m/onnx/v"))


def test_a_document_describing_another_instance_is_refused(tmp_path: Path) -> None:
    other = one_version()
    other["handle"] = "acme/other/onnx/v"
    root = write_registry(tmp_path, other)
    with pytest.raises(RegistryDocumentError, match="describes acme/other/onnx/v, the index says acme/m/onnx/v"):
        StaticRegistry("mine", str(root)).versions(Handle.parse("acme/m/onnx/v"))


def test_absolute_file_urls_are_kept(tmp_path: Path) -> None:
    root = write_registry(tmp_path, one_version("https://cdn.example/blobs/1"))
    candidate = StaticRegistry("mine", str(root)).versions(Handle.parse("acme/m/onnx/v"))[0]
    assert candidate.files[0].url == "https://cdn.example/blobs/1"


def test_an_http_registry_may_not_point_at_local_files(
    tmp_path: Path, httpserver: HTTPServer, session: requests.Session
) -> None:
    root = write_registry(tmp_path, one_version("file:///etc/passwd"))
    registry = StaticRegistry("mine", serve(httpserver, root), session=session)
    with pytest.raises(RegistryDocumentError, match="points to the local disk"):
        registry.versions(Handle.parse("acme/m/onnx/v"))


@pytest.mark.parametrize(
    "location",
    ["s3://bucket/registry", "file://server/share/registry", "https:///no-host", "https://example.org/r?token=1"],
)
def test_locations_kmenv_cannot_read_are_usage_errors(location: str) -> None:
    with pytest.raises(UsageError):
        StaticRegistry("bad", location)


# -- HTTP behaviour ------------------------------------------------------------------------


def test_http_reads_are_lazy_and_remembered(tmp_path: Path, httpserver: HTTPServer, session: requests.Session) -> None:
    url = serve(httpserver, write_registry(tmp_path, one_version()))
    registry = StaticRegistry("mine", url.rstrip("/"), session=session)
    assert len(httpserver.log) == 0
    handle = Handle.parse("acme/m/onnx/v")
    first = registry.versions(handle)
    assert registry.versions(handle) == first
    candidate = first[0]
    registry.files(candidate)
    registry.source(candidate, candidate.files[0])
    registry.instances("acme", "m")
    assert [request.path for request, _ in httpserver.log] == ["/reg/index.json", "/reg/m.json"]
    assert candidate.files[0].url == url + "blob"


def test_a_404_is_a_registry_error_and_is_not_retried(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/index.json").respond_with_data("gone", status=404)
    registry = StaticRegistry("web", httpserver.url_for("/"), session=session, retries=3, backoff=0)
    with pytest.raises(RegistryError) as caught:
        registry.list_all()
    assert type(caught.value) is RegistryError
    assert f"no index.json at {httpserver.url_for('/index.json')}" in str(caught.value)
    assert caught.value.hint is not None and "is the registry url right?" in caught.value.hint
    assert len(httpserver.log) == 1


def test_a_403_is_not_retried_and_says_how_to_log_in(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/index.json").respond_with_data("no", status=403)
    registry = StaticRegistry("web", httpserver.url_for("/"), session=session, retries=3, backoff=0)
    with pytest.raises(RegistryError, match="answered HTTP 403") as caught:
        registry.list_all()
    assert caught.value.hint is not None and ".netrc" in caught.value.hint
    assert len(httpserver.log) == 1


def test_a_500_then_a_200_succeeds_after_a_retry(
    tmp_path: Path, httpserver: HTTPServer, session: requests.Session
) -> None:
    httpserver.expect_oneshot_request("/reg/index.json").respond_with_data("busy", status=503)
    url = serve(httpserver, write_registry(tmp_path, one_version()))
    registry = StaticRegistry("web", url, session=session, retries=2, backoff=0)
    assert registry.list_all() == (Handle.parse("acme/m/onnx/v"),)
    assert [response.status_code for _, response in httpserver.log] == [503, 200]


def test_lasting_5xx_answers_become_a_network_error_after_the_retries(
    httpserver: HTTPServer, session: requests.Session
) -> None:
    httpserver.expect_request("/index.json").respond_with_data("broken", status=500)
    registry = StaticRegistry("web", httpserver.url_for("/"), session=session, retries=2, backoff=0)
    with pytest.raises(NetworkError) as caught:
        registry.list_all()
    assert "tried 3 times: the server answered HTTP 500" in str(caught.value)
    assert caught.value.exit_code == EXIT_REGISTRY
    assert len(httpserver.log) == 3


def test_backoff_waits_between_tries(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/index.json").respond_with_data("broken", status=502)
    registry = StaticRegistry("web", httpserver.url_for("/"), session=session, retries=2, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(NetworkError):
        registry.list_all()
    assert time.monotonic() - started >= 0.05 + 0.1


def test_invalid_json_over_http_is_a_document_error(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/index.json").respond_with_data("<html>Welcome</html>", status=200)
    registry = StaticRegistry("web", httpserver.url_for("/"), session=session)
    with pytest.raises(RegistryDocumentError, match=r"index\.json:1:1: not valid JSON") as caught:
        registry.list_all()
    assert caught.value.hint is not None and "web page" in caught.value.hint


def test_a_refused_connection_is_a_network_error_that_never_shows_credentials() -> None:
    port = free_port()
    registry = StaticRegistry("web", f"http://reader:s3cret@127.0.0.1:{port}/registry/", retries=1, backoff=0)
    with registry, pytest.raises(NetworkError) as caught:
        registry.list_all()
    message = str(caught.value)
    assert f"GET http://127.0.0.1:{port}/registry/index.json failed, tried 2 times: could not connect" in message
    assert "s3cret" not in message and "reader" not in message
    assert "s3cret" not in repr(registry) and "s3cret" not in registry.url


def test_a_silent_server_times_out(httpserver: HTTPServer, session: requests.Session) -> None:
    answered = threading.Event()

    def slow(request: Request) -> Response:
        time.sleep(0.3)
        answered.set()
        return Response("{}")

    httpserver.expect_request("/index.json").respond_with_handler(slow)
    registry = StaticRegistry("web", httpserver.url_for("/"), session=session, timeout=0.1, retries=0)
    with pytest.raises(NetworkError, match=r"tried once: no answer within 0\.1 s"):
        registry.list_all()
    assert answered.wait(5)  # let the server finish (and log it) before the next test uses it
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.01)


def test_credentials_in_the_url_go_to_that_host_as_basic_auth(
    tmp_path: Path, httpserver: HTTPServer, session: requests.Session
) -> None:
    root = write_registry(tmp_path, one_version())
    url = serve(httpserver, root).replace("http://", "http://reader:s3cret@")
    registry = StaticRegistry("web", url, session=session)
    candidate = registry.versions(Handle.parse("acme/m/onnx/v"))[0]
    requests_made = [request for request, _ in httpserver.log]
    assert [r.path for r in requests_made] == ["/reg/index.json", "/reg/m.json"]
    for request in requests_made:
        assert request.authorization is not None
        assert (request.authorization.username, request.authorization.password) == ("reader", "s3cret")
    source = registry.source(candidate, candidate.files[0])
    assert "s3cret" not in source.url and "s3cret" not in repr(source)
    assert source.headers["Authorization"].startswith("Basic ")
