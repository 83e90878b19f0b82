"""A local emulator of the Kaggle Models API, for kmenv's tests and for the official ``kagglehub`` client.

It speaks the wire protocol of ``reference/kaggle-models-api.md``: RPC ``POST`` routes under
``/api/v1/<service>/<Method>`` (non-prod layout, what kagglehub calls with ``KAGGLE_API_ENVIRONMENT=TEST``)
and ``/v1/<service>/<Method>`` (prod layout); camelCase JSON with enums as full names; opaque page
tokens; ``DownloadModelInstanceVersion`` answering ``302`` to a blob route that needs no auth and
serves ``Content-Length``, ``Accept-Ranges``, ``x-goog-hash`` and ``206`` ranges; errors as a real
status plus ``{"code", "message"}``. Request targets in absolute form are accepted, so a client can
reach it through ``HTTP_PROXY``. A second listener on another port serves the blobs, so a redirect
leaves the RPC origin the way a signed storage URL does.

Faults are queued per route and used up in order (:meth:`KaggleEmulator.fault`): ``status`` (with
``retry_after`` and the error ``shape``), ``drop`` (close the connection after the headers and
part of the body), ``wrong_md5``, ``no_hash``, ``ignore_range`` (200 with the whole body instead
of 206), ``slow`` (the blob body in 64 KiB writes ``delay`` seconds apart), ``zip`` (a zip archive
instead of a gzip tarball) and ``padded`` (8 MiB of junk after the archive). Broken servers, for kmenv's
bounds: ``endless`` (a blob body without length or end), ``new_token`` and ``same_token`` (a list RPC
answering an empty page that points at another page, a new one or the same one each time).

Who may see what follows Kaggle: credentials that do not check out are ``401`` on every RPC; a
private model is ``404`` to anyone but its owner and collaborators (also absent from ``ListModels``);
a gated instance's metadata is public but its download RPC is ``403`` until the user consented
(``consented``), and ``ListModelInstances`` carries the signed-in caller's own agreement status.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import socket
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FRAMEWORK_ENUM = {
    "tensorFlow1": "MODEL_FRAMEWORK_TENSOR_FLOW_1",
    "tensorFlow2": "MODEL_FRAMEWORK_TENSOR_FLOW_2",
    "tfLite": "MODEL_FRAMEWORK_TF_LITE",
    "tfJs": "MODEL_FRAMEWORK_TF_JS",
    "pyTorch": "MODEL_FRAMEWORK_PY_TORCH",
    "jax": "MODEL_FRAMEWORK_JAX",
    "coral": "MODEL_FRAMEWORK_CORAL",
    "scikitLearn": "MODEL_FRAMEWORK_SCIKIT_LEARN",
    "mxnet": "MODEL_FRAMEWORK_MXNET",
    "onnx": "MODEL_FRAMEWORK_ONNX",
    "keras": "MODEL_FRAMEWORK_KERAS",
    "api": "MODEL_FRAMEWORK_API",
    "other": "MODEL_FRAMEWORK_OTHER",
    "flax": "MODEL_FRAMEWORK_FLAX",
    "pax": "MODEL_FRAMEWORK_PAX",
    "transformers": "MODEL_FRAMEWORK_TRANSFORMERS",
    "maxText": "MODEL_FRAMEWORK_MAX_TEXT",
    "gemmaCpp": "MODEL_FRAMEWORK_GEMMA_CPP",
    "ggml": "MODEL_FRAMEWORK_GGML",
    "tensorRtLlm": "MODEL_FRAMEWORK_TENSOR_RT_LLM",
    "gguf": "MODEL_FRAMEWORK_GGUF",
    "triton": "MODEL_FRAMEWORK_TRITON",
    "vllm": "MODEL_FRAMEWORK_VLLM",
}
_FOLDED = {k.lower(): k for k in FRAMEWORK_ENUM} | {v.lower(): k for k, v in FRAMEWORK_ENUM.items()}
SORT_ENUM = {
    "LIST_MODELS_ORDER_BY_HOTNESS": "hotness",
    "LIST_MODELS_ORDER_BY_DOWNLOAD_COUNT": "downloads",
    "LIST_MODELS_ORDER_BY_VOTE_COUNT": "votes",
    "LIST_MODELS_ORDER_BY_NOTEBOOK_COUNT": "notebooks",
    "LIST_MODELS_ORDER_BY_CREATE_TIME": "created",
    "LIST_MODELS_ORDER_BY_PUBLISH_TIME": "published",
    "LIST_MODELS_ORDER_BY_UPDATE_TIME": "updated",
}
_SERVICES = ("models.ModelApiService", "api.v1.DiagnosticsService", "security.OAuthService", "users.AccountService")
GATED_MESSAGE = "User has not consented to terms of use."
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 50


def framework_of(value: object) -> str | None:
    """The handle spelling of a framework sent in any spelling (enum, short camel, any case)."""
    return _FOLDED.get(str(value).replace("_", "").lower()) or _FOLDED.get(str(value).lower())


# -- crc32c (Castagnoli), as Google Cloud Storage reports it in x-goog-hash --------------------


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def goog_hash(data: bytes) -> str:
    """The ``x-goog-hash`` header value for ``data``: base64 of raw crc32c and md5 digests."""
    crc = base64.b64encode(crc32c(data).to_bytes(4, "big")).decode()
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    return f"crc32c={crc},md5={md5}"


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# -- the catalogue ---------------------------------------------------------------------------


@dataclass
class EmuInstance:
    """One model instance (a framework + variation) and its versions' files."""

    framework: str
    slug: str
    versions: dict[int, dict[str, bytes]]
    license: str = "Apache 2.0"
    fine_tunable: bool = True
    overview: str = ""
    usage: str = ""
    training_data: list[str] = field(default_factory=list)
    base: str | None = None  # "owner/model/framework/variation"
    gated: bool = False
    total_downloads: float = 0.0

    @property
    def latest(self) -> int:
        return max(self.versions)


@dataclass
class EmuModel:
    """One model (``owner/slug``) with its instances."""

    owner: str
    slug: str
    title: str
    subtitle: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    votes: int = 0
    downloads: int = 0
    hotness: float = 0.0
    notebooks: int = 0
    create_time: str = "2024-02-20T09:00:00Z"
    publish_time: str = "2024-02-21T12:00:00Z"
    update_time: str = "2024-06-01T08:30:00.123Z"
    private: bool = False
    instances: list[EmuInstance] = field(default_factory=list)
    collaborators: list[str] = field(default_factory=list)  # users a private model is shared with

    def visible_to(self, user: str | None) -> bool:
        """Kaggle shows a private model to its owner and collaborators only; to anyone else it does not exist."""
        return not self.private or (user is not None and (user == self.owner or user in self.collaborators))


@dataclass
class Fault:
    """One injected misbehaviour; ``route`` is an RPC method name or ``blob``; used ``times`` times."""

    route: str
    kind: str
    status: int = 500
    retry_after: str | None = None
    shape: str = "flat"
    times: int = 1
    path: str | None = None  # blob faults: only for this file path
    delay: float = 0.0  # "slow" blob faults: seconds between 64 KiB writes


@dataclass
class Seen:
    """One request as the emulator received it (for assertions about the wire)."""

    method: str
    path: str
    route: str
    headers: dict[str, str]
    body: dict[str, Any] | None


class KaggleEmulator:
    """The emulator: catalogue, credentials, faults, and the request log. Start with :meth:`start`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.models: dict[tuple[str, str], EmuModel] = {}
        self.users: dict[str, str] = {}  # username -> key
        self.tokens: dict[str, str] = {}  # token -> username
        self.consented: set[str] = set()  # usernames that accepted gated licences
        self.refresh_tokens: dict[str, str] = {}  # OAuth refresh token (kaggle auth login) -> username
        self.seen: list[Seen] = []
        self.max_page_size = MAX_PAGE_SIZE
        self.etags = True
        self._faults: list[Fault] = []
        self._blobs: dict[str, tuple[bytes, str]] = {}  # key -> (bytes, file path or "")
        self._hashes: dict[str, str] = {}  # key -> x-goog-hash, computed once
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> KaggleEmulator:
        handler = _make_handler(self)
        for port in (self._port, 0):  # RPC listener, then a blob listener on another port
            server = ThreadingHTTPServer((self._host, port), handler)
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> KaggleEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._servers[0].server_address[1])

    @property
    def blob_port(self) -> int:
        return int(self._servers[1].server_address[1])

    @property
    def origin(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base kmenv takes (``KMENV_KAGGLE_URL``): the non-prod ``/api/v1`` layout."""
        return f"{self.origin}/api/v1"

    # -- catalogue ---------------------------------------------------------------------------

    def add_model(self, owner: str, slug: str, title: str | None = None, **kwargs: Any) -> EmuModel:
        model = EmuModel(owner, slug, title or slug.replace("-", " ").title(), **kwargs)
        self.models[owner, slug] = model
        return model

    def add_instance(
        self, owner: str, slug: str, framework: str, variation: str, versions: dict[int, dict[str, bytes]], **kw: Any
    ) -> EmuInstance:
        model = self.models.get((owner, slug)) or self.add_model(owner, slug)
        instance = EmuInstance(framework, variation, versions, **kw)
        model.instances.append(instance)
        return instance

    def fault(self, route: str, kind: str = "status", **kwargs: Any) -> Fault:
        fault = Fault(route, kind, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def requests_to(self, route: str) -> list[Seen]:
        return [s for s in self.seen if s.route == route]

    # -- internals used by the handler --------------------------------------------------------

    def take_fault(self, route: str, path: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.route == route and fault.times > 0 and (fault.path is None or fault.path == path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def blob_url(self, data: bytes, path: str) -> str:
        key = hashlib.sha256(data).hexdigest()[:32] + ("-" + hashlib.md5(path.encode()).hexdigest()[:8])
        with self._lock:
            self._blobs[key] = (data, path)
        signature = hashlib.sha256(key.encode() + str(time.time()).encode()).hexdigest()
        return (
            f"http://{self._host}:{self.blob_port}/blobs/{key}"
            f"?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=3600&X-Goog-Signature={signature}"
        )

    def stored_hash(self, key: str, data: bytes) -> str:
        """The blob's ``x-goog-hash``, computed once per blob as storage keeps it (crc32c here is pure Python)."""
        with self._lock:
            known = self._hashes.get(key)
        if known is None:
            known = goog_hash(data)
            with self._lock:
                self._hashes[key] = known
        return known

    def blob(self, key: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._blobs.get(key)

    def find(self, owner: str, slug: str) -> EmuModel | None:
        return self.models.get((owner, slug))


def archive_bytes(files: dict[str, bytes], *, as_zip: bool = False) -> bytes:
    """The whole-version archive: a deterministic gzip tarball (or zip)."""
    out = io.BytesIO()
    if as_zip:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), files[name])
        return out.getvalue()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = 1_700_000_000
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as zipped:
        zipped.write(raw.getvalue())
    return out.getvalue()


def _page(items: list[Any], body: dict[str, Any], limit: int) -> tuple[list[Any], str]:
    size = int(body.get("pageSize") or DEFAULT_PAGE_SIZE)
    size = max(1, min(size, limit))
    token = str(body.get("pageToken") or "")
    start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    end = start + size
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else ""
    return items[start:end], following


def _agreement(accepted: bool) -> str:
    """The caller's own status for a licence that needs agreement (``ModelInstance.license.agreementStatus``)."""
    return "USER_LICENSE_AGREEMENT_STATUS_" + ("ACCEPTED" if accepted else "UNSPECIFIED")


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _make_handler(emu: KaggleEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "KaggleEmulator/1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        # -- plumbing ---------------------------------------------------------------------

        def _path(self) -> tuple[str, dict[str, list[str]]]:
            target = urlsplit(self.path)  # absolute-form targets arrive through HTTP_PROXY
            return target.path, parse_qs(target.query)

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, delay: float = 0) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                for i in range(0, len(body), 64 << 10 if delay else max(1, len(body))):  # "slow": a trickle
                    self.wfile.write(body[i : i + (64 << 10 if delay else len(body))])
                    time.sleep(delay)

        def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

        def _error(self, status: int, message: str, shape: str = "flat", retry_after: str | None = None) -> None:
            body: dict[str, Any] = {"code": status, "message": message}
            if shape == "google":
                body = {"error": {"code": status, "message": message, "status": "RESOURCE_EXHAUSTED"}}
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            self._json(status, body, headers)

        def _record(self, route: str, body: dict[str, Any] | None) -> None:
            path, _ = self._path()
            with emu._lock:
                emu.seen.append(Seen(self.command, path, route, dict(self.headers.items()), body))

        def _user(self) -> str | None:
            """The authenticated username; raises 401 for credentials that do not check out."""
            header = self.headers.get("Authorization")
            if not header:
                return None
            kind, _, value = header.partition(" ")
            if kind == "Bearer" and value in emu.tokens:
                return emu.tokens[value]
            if kind == "Basic":
                try:
                    user, _, key = base64.b64decode(value).decode().partition(":")
                except ValueError:
                    user, key = "", ""
                if user in emu.users and emu.users[user] == key:
                    return user
            raise _Problem(401, "Unauthenticated")

        # -- verbs ------------------------------------------------------------------------

        def do_HEAD(self) -> None:
            path, _ = self._path()
            if path.startswith("/blobs/"):
                self._blob(path)
                return
            self._send(200, b"")

        def do_GET(self) -> None:
            path, _ = self._path()
            if path.startswith("/blobs/"):
                self._blob(path)
                return
            self._record("GET", None)
            self._error(404, "Not found")

        def do_POST(self) -> None:
            path, _ = self._path()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = path.strip("/").split("/")
            if parts[:2] == ["api", "v1"]:
                parts = parts[2:]
            elif parts[:1] == ["v1"]:
                parts = parts[1:]
            else:
                self._record("?", None)
                self._error(404, "Not found")
                return
            route = parts[-1] if len(parts) == 2 else "?"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            self._record(route, body if isinstance(body, dict) else None)
            if not isinstance(body, dict):
                self._error(400, "Invalid JSON body")
                return
            fault = emu.take_fault(route)
            if fault is not None and self._apply_rpc_fault(fault):
                return
            try:
                user = self._user()
                handler = getattr(self, f"rpc_{route}", None)
                if handler is None or parts[0] not in _SERVICES:
                    raise _Problem(404, f"Unknown method {'/'.join(parts)}")
                handler(body, user)
            except _Problem as problem:
                self._error(problem.status, problem.message)

        def _apply_rpc_fault(self, fault: Fault) -> bool:
            if fault.kind == "status":
                self._error(
                    fault.status,
                    "TooManyRequests" if fault.status == 429 else "Backend error",
                    fault.shape,
                    fault.retry_after,
                )
                return True
            if fault.kind == "ok_with_error":  # HTTP 200 whose JSON says code >= 400 (kagglesdk treats it as an error)
                self._json(200, {"code": fault.status, "message": "Error in body"})
                return True
            if fault.kind == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return True
            if fault.kind in ("new_token", "same_token"):
                token = "again" if fault.kind == "same_token" else f"t{fault.times}-{time.monotonic_ns()}"
                self._json(200, {"nextPageToken": token})
                return True
            return False

        def _ok(self, data: Any) -> None:
            payload = json.dumps(data).encode()
            headers = {"Content-Type": "application/json", "X-Kaggle-HubVersion": "1.0.3"}
            if emu.etags:
                etag = '"' + hashlib.sha256(payload).hexdigest()[:16] + '"'
                headers["ETag"] = etag
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            self._send(200, payload, headers)

        # -- lookups ----------------------------------------------------------------------

        def _model(self, body: dict[str, Any], user: str | None) -> EmuModel:
            model = emu.find(str(body.get("ownerSlug", "")), str(body.get("modelSlug", "")))
            if model is None or not model.visible_to(user):
                raise _Problem(404, "Model not found")
            return model

        def _instance(self, body: dict[str, Any], user: str | None) -> tuple[EmuModel, EmuInstance]:
            model = self._model(body, user)
            framework = framework_of(body.get("framework", ""))
            for inst in model.instances:
                if inst.framework == framework and inst.slug == body.get("instanceSlug"):
                    return model, inst
            raise _Problem(404, "Model instance not found")

        def _version(self, inst: EmuInstance, body: dict[str, Any]) -> int:
            number = int(body.get("versionNumber") or 0) or inst.latest
            if number not in inst.versions:
                raise _Problem(404, "Model instance version not found")
            return number

        # -- messages ---------------------------------------------------------------------

        def _api_instance(self, model: EmuModel, inst: EmuInstance) -> dict[str, Any]:
            latest = inst.latest
            data: dict[str, Any] = {
                "id": abs(hash((model.owner, model.slug, inst.framework, inst.slug))) % 100000,
                "slug": inst.slug,
                "framework": FRAMEWORK_ENUM[inst.framework],
                "fineTunable": inst.fine_tunable,
                "overview": inst.overview,
                "usage": inst.usage,
                "versionId": 1000 + latest,
                "versionNumber": latest,
                "trainingData": inst.training_data,
                "url": f"https://www.kaggle.com/models/{model.owner}/{model.slug}/{inst.framework}/{inst.slug}",
                "licenseName": inst.license,
                "modelInstanceType": "MODEL_INSTANCE_TYPE_KAGGLE_VARIANT"
                if inst.base
                else "MODEL_INSTANCE_TYPE_BASE_MODEL",
                "totalUncompressedBytes": sum(len(b) for b in inst.versions[latest].values()),
                "someFutureField": {"ignored": True},
            }
            if inst.base:
                owner, slug, framework, variation = inst.base.split("/")
                data["baseModelInstanceInformation"] = {
                    "id": 7,
                    "owner": {"slug": owner, "name": owner.title(), "isOrganization": True},
                    "modelSlug": slug,
                    "instanceSlug": variation,
                    "framework": FRAMEWORK_ENUM[framework],
                }
            return data

        def _api_model(self, model: EmuModel) -> dict[str, Any]:
            return {
                "id": abs(hash((model.owner, model.slug))) % 100000,
                "ref": f"{model.owner}/{model.slug}",
                "title": model.title,
                "subtitle": model.subtitle,
                "author": model.owner,
                "slug": model.slug,
                "isPrivate": model.private,
                "description": model.description,
                "instances": [self._api_instance(model, i) for i in model.instances],
                "tags": [{"ref": t, "name": t, "fullPath": f"tags/{t}"} for t in model.tags],
                "publishTime": model.publish_time,
                "provenanceSources": "",
                "url": f"https://www.kaggle.com/models/{model.owner}/{model.slug}",
                "voteCount": model.votes,
                "updateTime": model.update_time,
            }

        # -- RPC methods ------------------------------------------------------------------

        def rpc_Hello(self, body: dict[str, Any], user: str | None) -> None:
            self._ok({"userName": user} if user else {"code": 401, "message": "Unauthenticated"})

        def rpc_IntrospectToken(self, body: dict[str, Any], user: str | None) -> None:
            owner = emu.tokens.get(str(body.get("token", "")))
            self._ok({"active": True, "username": owner} if owner else {"active": False})

        def rpc_GenerateAccessToken(self, body: dict[str, Any], user: str | None) -> None:
            """A new short-lived access token for an OAuth refresh token, as the kaggle CLI renews its login."""
            owner = emu.refresh_tokens.get(str(body.get("refreshToken", "")))
            if owner is None:
                raise _Problem(401, "Invalid refresh token")
            duration = str(body.get("expirationDuration") or "43200s").rstrip("s")
            token = "oauth-" + hashlib.sha256(f"{owner}{time.time()}{len(emu.tokens)}".encode()).hexdigest()[:24]
            with emu._lock:
                emu.tokens[token] = owner
            self._ok({"token": token, "expiresIn": int(float(duration))})

        def rpc_GetModel(self, body: dict[str, Any], user: str | None) -> None:
            self._ok(self._api_model(self._model(body, user)))

        def rpc_ListModels(self, body: dict[str, Any], user: str | None) -> None:
            query = str(body.get("search") or "").lower()
            owner = str(body.get("owner") or "")
            found = [
                m
                for m in emu.models.values()
                if m.visible_to(user)
                and (not owner or m.owner == owner)
                and (not query or query in f"{m.owner} {m.slug} {m.title} {m.subtitle}".lower())
            ]
            key = SORT_ENUM.get(str(body.get("sortBy") or ""), "hotness")
            order = {
                "hotness": lambda m: -m.hotness,
                "downloads": lambda m: -m.downloads,
                "votes": lambda m: -m.votes,
                "notebooks": lambda m: -m.notebooks,
                "created": lambda m: m.create_time,
                "published": lambda m: m.publish_time,
                "updated": lambda m: m.update_time,
            }[key]
            found.sort(key=lambda m: (m.owner, m.slug))
            found.sort(key=order, reverse=key in ("published", "updated", "created"))
            page, following = _page(found, body, emu.max_page_size)
            self._ok(
                {
                    "models": [self._api_model(m) for m in page],
                    "nextPageToken": following,
                    "totalResults": len(found),
                }
            )

        def rpc_GetModelInstance(self, body: dict[str, Any], user: str | None) -> None:
            model, inst = self._instance(body, user)
            self._ok(self._api_instance(model, inst))

        def rpc_ListModelInstances(self, body: dict[str, Any], user: str | None) -> None:
            model = self._model(body, user)
            items = []
            for inst in model.instances:
                data = self._api_instance(model, inst)
                data.update(
                    {
                        "ownerSlug": model.owner,
                        "modelSlug": model.slug,
                        "versionNotes": f"version {inst.latest}",
                        "license": {"id": 1, "name": inst.license, "agreementRequired": inst.gated}
                        | ({"agreementStatus": _agreement(user in emu.consented)} if inst.gated and user else {}),
                        "metrics": "accuracy: 0.91" if inst.fine_tunable else "",
                        "downloadSummary": {"totalDownloads": inst.total_downloads},
                    }
                )
                data.pop("licenseName", None)
                items.append(data)
            page, following = _page(items, body, emu.max_page_size)
            self._ok({"instances": page, "nextPageToken": following})

        def rpc_ListModelInstanceVersions(self, body: dict[str, Any], user: str | None) -> None:
            model, inst = self._instance(body, user)
            items = [
                {
                    "id": 5000 + n,
                    "framework": FRAMEWORK_ENUM[inst.framework],
                    "variationSlug": inst.slug,
                    "versionNumber": n,
                    "modelTitle": model.title,
                    "ownerSlug": model.owner,
                    "modelSlug": model.slug,
                    "isPrivate": model.private,
                    "url": f"/models/{model.owner}/{model.slug}/{inst.framework}/{inst.slug}/{n}",
                }
                for n in sorted(inst.versions, reverse=True)
            ]
            page, following = _page(items, body, emu.max_page_size)
            self._ok({"versionList": {"versions": page}, "nextPageToken": following})

        def rpc_ListModelInstanceVersionFiles(self, body: dict[str, Any], user: str | None) -> None:
            _, inst = self._instance(body, user)
            files = inst.versions[self._version(inst, body)]
            items = [
                {"name": name, "size": len(files[name]), "creationDate": "2024-05-01T10:00:00Z"}
                for name in sorted(files)
            ]
            page, following = _page(items, body, emu.max_page_size)
            self._ok({"files": page, "nextPageToken": following})

        def rpc_DownloadModelInstanceVersion(self, body: dict[str, Any], user: str | None) -> None:
            _, inst = self._instance(body, user)
            if inst.gated and user not in emu.consented:
                raise _Problem(403, GATED_MESSAGE)
            files = inst.versions[self._version(inst, body)]
            path = body.get("path")
            if path:
                if path not in files:
                    raise _Problem(404, "File not found")
                location = emu.blob_url(files[path], str(path))
            else:
                fault = emu.take_fault("archive")
                data = archive_bytes(files, as_zip=fault is not None and fault.kind == "zip")
                if fault is not None and fault.kind == "padded":  # junk after the archive: a body far too long
                    data += bytes(8 << 20)
                location = emu.blob_url(data, "")
            self._send(302, b"", {"Location": location})

        # -- the blob host ----------------------------------------------------------------

        def _blob(self, path: str) -> None:
            self._record("blob", None)
            found = emu.blob(path.rsplit("/", 1)[-1])
            if found is None:
                self._error(404, "No such object")
                return
            data, file_path = found
            fault = emu.take_fault("blob", file_path) if self.command == "GET" else None
            hash_value = emu.stored_hash(path.rsplit("/", 1)[-1], data)
            if fault is not None and fault.kind == "wrong_md5":
                hash_value = goog_hash(data + b"tampered")
            headers = {
                "Content-Type": "application/octet-stream",
                "Accept-Ranges": "bytes",
                "ETag": '"' + hashlib.md5(data).hexdigest() + '"',
                "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT",
            }
            if fault is None or fault.kind != "no_hash":
                headers["x-goog-hash"] = hash_value
            if fault is not None and fault.kind == "status":
                self._error(fault.status, "Backend error", fault.shape, fault.retry_after)
                return
            start = 0
            wanted = self.headers.get("Range", "")
            if wanted.startswith("bytes=") and not (fault is not None and fault.kind == "ignore_range"):
                first, _, last = wanted[len("bytes=") :].partition("-")
                start = int(first or 0)
                end = int(last) if last else len(data) - 1
                if start >= len(data):
                    self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                    return
                chunk = data[start : end + 1]
                headers["Content-Range"] = f"bytes {start}-{start + len(chunk) - 1}/{len(data)}"
                self._send(206, chunk, headers, delay=fault.delay if fault is not None and fault.kind == "slow" else 0)
                return
            if fault is not None and fault.kind == "endless":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                junk = b"\0" * 65536
                try:
                    for _ in range(65536):  # 4 GiB at most, should nobody hang up
                        self.wfile.write(junk)
                except OSError:
                    pass
                return
            if fault is not None and fault.kind == "drop":
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(200, data, headers, delay=fault.delay if fault is not None and fault.kind == "slow" else 0)

    return Handler


def iter_files(count: int, *, prefix: str = "shard", size: int = 64) -> Iterator[tuple[str, bytes]]:
    """``count`` small deterministic files (for the ``> 25 files`` archive path)."""
    for i in range(count):
        yield f"{prefix}-{i:03d}.bin", hashlib.sha256(f"{prefix}{i}".encode()).digest() * (size // 32)
