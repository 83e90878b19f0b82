"""A reverse proxy in front of the real docker-registry that misbehaves on purpose.

Distribution never answers 403, 429 or 503 on demand, never serves bytes that betray their digest,
has no token server in its plain configuration and never redirects to storage with a filesystem
backend; this proxy adds exactly those and forwards everything else unchanged.

- ``statuses`` maps a path fragment to ``(status, times)`` (``times`` -1: always).
- ``corrupt`` lists path fragments whose answer bodies get one byte flipped.
- ``bearer`` makes it a token server: requests need ``Authorization: Bearer <token>``, a 401 names the
  realm ``token_realm`` (default: its own ``/token``), and ``/token`` gives the token to that login;
  only the latest token issued is accepted, and it says it lasts ``token_lifetime`` seconds.
- ``redirect_blobs`` answers blob reads with a 307 to ``http://localhost:PORT/storage/…`` (another
  origin, as object storage behind a registry is), which serves them to anyone.

Every request is recorded (method, path, its Authorization header or None).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}
TOKEN = "tok-0123456789"


@dataclass
class Proxy:
    upstream: str
    httpd: ThreadingHTTPServer | None = None
    statuses: dict[str, tuple[int, int]] = field(default_factory=dict)
    corrupt: list[str] = field(default_factory=list)
    bearer: tuple[str, str] | None = None
    token_realm: str | None = None
    redirect_blobs: bool = False
    token_lifetime: int = 300
    tokens_issued: int = 0
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        assert self.httpd is not None
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, namespace: str) -> str:
        return f"oci+http://{self.host}/{namespace}"

    @property
    def current_token(self) -> str:
        """The one token accepted: :data:`TOKEN` at first, a new one (and only it) after each further issue."""
        return TOKEN if self.tokens_issued <= 1 else f"{TOKEN}-{self.tokens_issued}"

    def hits(self, fragment: str) -> int:
        return sum(1 for _, path, _ in self.seen if fragment in path)


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization")
            with proxy.lock:
                proxy.seen.append((self.command, self.path, auth))
            path = self.path
            if path.startswith("/storage/"):
                path = path[len("/storage") :]  # "object storage": serves blobs to anyone holding the URL
            elif proxy.bearer is not None and self._bearer(auth):
                return
            elif proxy.redirect_blobs and "/blobs/sha256:" in path and self.command in ("GET", "HEAD"):
                port = proxy.host.rsplit(":", 1)[1]
                self._reply(307, b"", {"Location": f"http://localhost:{port}/storage{path}"})
                return
            for fragment, (status, times) in list(proxy.statuses.items()):
                if fragment in self.path and times != 0:
                    with proxy.lock:
                        proxy.statuses[fragment] = (status, times - 1 if times > 0 else times)
                    error = {"errors": [{"code": "TOOMANYREQUESTS" if status == 429 else "DENIED", "message": "no"}]}
                    self._reply(status, json.dumps(error).encode(), {"Retry-After": "0"})
                    return
            connection = http.client.HTTPConnection(proxy.upstream, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP and k.lower() != "authorization"}
            connection.request(self.command, path, body=body or None, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            connection.close()
            if data and any(fragment in self.path for fragment in proxy.corrupt):
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            passed = {k: v for k, v in answer.getheaders() if k.lower() not in _HOP}
            self._reply(answer.status, data, passed)

        def _bearer(self, auth: str | None) -> bool:
            """Play the token server; True when this request was answered here."""
            assert proxy.bearer is not None
            if self.path.startswith("/token"):
                user, password = proxy.bearer
                expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                if auth != expected:
                    self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                else:
                    with proxy.lock:
                        proxy.tokens_issued += 1
                    answer = {"token": proxy.current_token, "expires_in": proxy.token_lifetime}
                    self._reply(200, json.dumps(answer).encode())
                return True
            if auth != f"Bearer {proxy.current_token}":
                realm = proxy.token_realm or f"http://{proxy.host}/token"
                challenge = f'Bearer realm="{realm}",service="test-registry",scope="repository:x:pull"'
                self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})
                return True
            return False

        def _guarded(self) -> None:
            try:
                self._handle()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client hung up first (it gave up, or read no body)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _guarded

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-answer is no news here; print nothing into the test's stderr."""


@contextlib.contextmanager
def running_proxy(upstream: str, **options: object) -> Iterator[Proxy]:
    """A proxy to ``upstream`` (``host:port``) on 127.0.0.1, stopped on exit."""
    proxy = Proxy(upstream, **options)  # type: ignore[arg-type]
    proxy.httpd = _QuietServer(("127.0.0.1", 0), _handler(proxy))
    thread = threading.Thread(target=proxy.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.httpd.shutdown()
        proxy.httpd.server_close()
