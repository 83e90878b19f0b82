"""The sha256 of a few bytes in hex, for the paths that must start fast (the no-op and the warm install)."""

from __future__ import annotations

__all__ = ["sha256_hex"]


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` in hex, as :func:`hashlib.sha256` gives it.

    CPython's built-in implementation (``_sha2`` from 3.12, ``_sha256`` before) when there is one: importing
    :mod:`hashlib` loads OpenSSL, which costs a quarter of an interpreter's start; project files are small.
    """
    for name in ("_sha2", "_sha256"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        digest: str = module.sha256(data).hexdigest()
        return digest
    import hashlib

    return hashlib.sha256(data).hexdigest()
