"""Which certificates to trust for one registry host, found where container tools keep them.

TLS is always verified for ``oci://``. By default against the system's CAs (``REQUESTS_CA_BUNDLE``
and ``SSL_CERT_FILE`` work as for any requests client); a private CA goes in a ``certs.d`` folder
named after the host and port, as Docker and podman read them: ``<kmenv config>/certs.d/HOST[:PORT]/``,
``$XDG_CONFIG_HOME/containers/certs.d/…``, ``/etc/containers/certs.d/…`` and ``/etc/docker/certs.d/…``.
Every ``*.crt`` in the first folder that has any becomes the trust bundle for that host.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["certs_dirs", "trust_for"]

_MAX_BUNDLE = 4 << 20


def certs_dirs(host: str, config_dir: Path) -> list[Path]:
    """The ``certs.d`` folders consulted for ``host`` (``name[:port]``), in order."""
    home = Path(os.environ.get("HOME") or Path.home())
    user = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    roots = [config_dir / "certs.d", user / "containers" / "certs.d", Path("/etc/containers/certs.d")]
    roots.append(Path("/etc/docker/certs.d"))
    return [root / host for root in roots]


def trust_for(host: str, config_dir: Path) -> bool | str:
    """``True`` (the default CAs) or the path of a bundle holding this host's own CA certificates."""
    for folder in certs_dirs(host, config_dir):
        try:
            certs = sorted(p for p in folder.iterdir() if p.suffix == ".crt" and p.is_file())
        except OSError:
            continue
        if not certs:
            continue
        if len(certs) == 1:
            return str(certs[0])
        return _combined(certs)
    return True


def _combined(certs: list[Path]) -> str:
    """One PEM file of several (requests takes one bundle), kept in the temp folder under a content name."""
    data = b"\n".join(p.read_bytes()[:_MAX_BUNDLE] for p in certs)
    path = Path(tempfile.gettempdir()) / f"kmenv-ca-{hashlib.sha256(data).hexdigest()[:16]}.pem"
    if not path.exists():
        fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".pem")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    return str(path)
