"""A real OCI registry for the tests: Debian's docker-registry (CNCF Distribution) on 127.0.0.1.

``oci_registry`` is a plain-HTTP registry with anonymous push and pull, started once per session.
``oci_secure_registry`` serves HTTPS with a self-signed certificate made by openssl and asks for a
login (htpasswd with bcrypt, which Distribution only accepts behind TLS). Each test uses its own
namespace, so tests share a registry without seeing each other's repositories. Both stop at the end
of the session; tests that need one skip only when the program is absent, naming the package.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

USER, PASSWORD = "alice", "s3cret-pass"
_names = count(1)


@dataclass(frozen=True)
class RunningRegistry:
    """A started docker-registry: ``host`` is ``127.0.0.1:PORT``; ``ca`` the certificate to trust (TLS only)."""

    host: str
    scheme: str
    root: Path
    ca: Path | None = None

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}"

    def url(self, namespace: str) -> str:
        """The kmodels.yaml url of ``namespace`` on this registry."""
        return f"{'oci' if self.scheme == 'https' else 'oci+http'}://{self.host}/{namespace}"


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[bytes], ca: Path | None, log: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca)) if ca else None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{base}/v2/", timeout=1, context=context)
            return
        except urllib.error.HTTPError:
            return  # 401 is an answer: it is up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("docker-registry did not start within 20 s")


def _start(folder: Path, *, secure: bool) -> Iterator[RunningRegistry]:
    binary = _tool("docker-registry", "docker-registry")
    port = _free_port()
    host = f"127.0.0.1:{port}"
    lines = [
        "version: 0.1",
        "log: {level: error, accesslog: {disabled: true}}",
        f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}, delete: {{enabled: true}}}}",
        "http:",
        f"  addr: {host}",
        "  secret: kmenv-tests-only",
    ]
    ca = None
    if secure:
        openssl = _tool("openssl", "openssl")
        htpasswd = _tool("htpasswd", "apache2-utils")
        cert, key = folder / "registry.crt", folder / "registry.key"
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        entry = subprocess.run([htpasswd, "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True)
        (folder / "htpasswd").write_text(entry.stdout.strip() + "\n")
        lines += [f"  tls: {{certificate: {cert}, key: {key}}}"]
        lines += ["auth:", f"  htpasswd: {{realm: kmenv-tests, path: {folder / 'htpasswd'}}}"]
        ca = cert
    config = folder / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    log = folder / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT)
    scheme = "https" if secure else "http"
    try:
        _wait_ready(f"{scheme}://{host}", proc, ca, log)
        yield RunningRegistry(host, scheme, folder, ca)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A plain-HTTP docker-registry, anonymous push and pull."""
    yield from _start(tmp_path_factory.mktemp("oci-plain"), secure=False)


@pytest.fixture(scope="session")
def oci_secure_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """An HTTPS docker-registry (self-signed certificate) that needs USER/PASSWORD."""
    yield from _start(tmp_path_factory.mktemp("oci-tls"), secure=True)


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses."""
    return f"t{next(_names)}-{int(time.time() * 1000) % 100000}"


@pytest.fixture(autouse=True)
def no_outside_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    """No login of the machine's user leaks in: every place container tools keep them is unset (HOME is a temp dir)."""
    for var in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
