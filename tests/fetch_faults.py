"""A local HTTP server that misbehaves on purpose, for the fetch, crash and concurrency tests.

``FaultServer`` is a threaded ``http.server`` on 127.0.0.1 whose answer each test scripts per
path; it records every request (method, path, headers, body) so tests can check what was sent.
``serve_file`` plays a static file server with optional faults: a connection dropped after N
bytes (with the full Content-Length announced), ranges ignored (200 instead of 206), a slow trickle.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FaultServer:
    """Routes map a path (query ignored) to a function that writes the whole response."""

    httpd: ThreadingHTTPServer
    routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def hits(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real servers

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            path = self.path.split("?", 1)[0]
            server.seen.append(Seen(self.command, path, dict(self.headers.items()), self.rfile.read(length)))
            route = server.routes.get(path)
            if route is None:
                reply(self, 404, b"not here")
            else:
                route(self)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def fault_servers() -> Iterator[Callable[[], FaultServer]]:
    """A factory of servers on 127.0.0.1 (ephemeral ports), all shut down on exit."""
    started: list[FaultServer] = []

    def start() -> FaultServer:
        server = FaultServer(ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler))
        server.httpd.RequestHandlerClass = _handler_for(server)
        server.httpd.daemon_threads = True
        threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.httpd.shutdown()
            server.httpd.server_close()


def reply(
    handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> None:
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def serve_file(
    data: bytes,
    *,
    etag: str = '"v1"',
    ranges: bool = True,
    cut_first_after: int | None = None,
    cut_times: int = 1,
    delay: float = 0.0,
    chunk: int = 256 << 10,
    headers: dict[str, str] | None = None,
) -> Callable[[BaseHTTPRequestHandler], None]:
    """Serve ``data`` like a static file server.

    Faults: the first ``cut_times`` replies stop after ``cut_first_after`` bytes of body although
    Content-Length announced all of it; ``delay`` seconds pass between ``chunk``-byte writes
    (a slow trickle); ``ranges=False`` answers every request with 200 and the whole file.
    ``headers`` are added to every reply (``x-goog-hash``, say).
    """
    state = {"requests": 0}

    def route(handler: BaseHTTPRequestHandler) -> None:
        state["requests"] += 1
        start = 0
        wanted = re.match(r"bytes=(\d+)-$", handler.headers.get("Range", ""))
        if_range = handler.headers.get("If-Range")
        if ranges and wanted and (if_range is None or if_range == etag):
            start = int(wanted.group(1))
        body = data[start:]
        handler.send_response(206 if start else 200)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("ETag", etag)
        if ranges:
            handler.send_header("Accept-Ranges", "bytes")
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if cut_first_after is not None and state["requests"] <= cut_times:
            handler.wfile.write(body[:cut_first_after])
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        for i in range(0, len(body), chunk):
            handler.wfile.write(body[i : i + chunk])
            if delay:
                time.sleep(delay)

    return route


def serve_folder(server: FaultServer, folder: Path, *, throttle: dict[str, float] | None = None) -> None:
    """Serve every file under ``folder`` at ``/<relative path>`` like a static file server.

    ``throttle`` maps a relative path to seconds slept per 64 KiB written; it is read on every
    request, so a test can slow a file down (or speed it up) between runs.
    """
    slow = throttle if throttle is not None else {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        data = path.read_bytes()

        def route(handler: BaseHTTPRequestHandler, rel: str = rel, data: bytes = data) -> None:
            serve_file(data, etag=f'"{len(data)}"', delay=slow.get(rel, 0.0), chunk=64 << 10)(handler)

        server.routes["/" + rel] = route


def write_model_source(root: Path, instances: dict[str, dict[int, dict[str, bytes]]]) -> Path:
    """A source folder for ``kmenv registry build``: ``{handle: {version: {path: bytes}}}``, licence Apache 2.0."""
    for handle, versions in instances.items():
        for version, files in versions.items():
            folder = root / handle / str(version)
            folder.mkdir(parents=True, exist_ok=True)
            meta = {"license": "Apache 2.0", "published": f"2026-01-0{version}T00:00:00Z"}
            (folder / "version.json").write_text(json.dumps(meta))
            for rel, content in files.items():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_bytes(content)
    return root


def write_project(folder: Path, registry_url: str, models: dict[str, str]) -> Path:
    """A kmodels.yaml using one static registry at ``registry_url`` and declaring ``models`` (name: handle@spec)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", "registries:", "  acme:", f"    url: {registry_url}", "models:"]
    lines += [f'  {name}: "{handle}"' for name, handle in models.items()]
    (folder / "kmodels.yaml").write_text("\n".join(lines) + "\n")
    return folder
