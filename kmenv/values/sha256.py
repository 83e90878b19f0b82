"""The sha256 of a few bytes in hex, for the paths that must start fast (the no-op and the warm install)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["sha256_hex"]


def _implementation() -> Callable[[bytes], Any]:
    """CPython's built-in sha256 (``_sha2`` from 3.12, ``_sha256`` before), else hashlib's; looked up once.

    Importing :mod:`hashlib` loads OpenSSL, which costs a quarter of an interpreter's start; a failed import
    searches every path entry again, so the choice is made once, not per digest.
    """
    for name in ("_sha2", "_sha256"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        constructor: Callable[[bytes], Any] = module.sha256
        return constructor
    import hashlib

    return hashlib.sha256


_SHA256 = _implementation()


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` in hex, as :func:`hashlib.sha256` gives it; project files are small."""
    digest: str = _SHA256(data).hexdigest()
    return digest
