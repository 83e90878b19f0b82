"""Digest text: sha256 blob names, and published digests in hex or base64 compared with our own.

:mod:`hashlib` (OpenSSL) and :mod:`base64` load on first use: a warm install only checks blob names.
"""

from __future__ import annotations

import re

from kmenv.errors import IntegrityError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["canonical_digest", "digest_matches", "hashable", "is_sha256", "require_sha256"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(text: str) -> bool:
    """True for 64 lower-case hex digits, the only form a blob's name may take."""
    return _SHA256.match(text) is not None


def require_sha256(digest: str) -> str:
    """``digest`` unchanged when it is a sha256; IntegrityError otherwise."""
    # The digest becomes a file name: anything but 64 hex digits could point outside the store.
    if not is_sha256(digest):
        raise IntegrityError(
            f"{digest!r} is not a sha256 digest (64 lower-case hex digits)",
            hint="the lock or registry index is damaged; re-create the lock with `kmenv lock`",
        )
    return digest


def digest_matches(expected: str, hasher: Any) -> tuple[bool, str]:
    """Compare a published digest (hex or base64 of the raw digest) with ours, in its own encoding."""
    import base64

    raw: bytes = hasher.digest()
    if re.fullmatch(r"[0-9a-fA-F]+", expected) and len(expected) == 2 * len(raw):
        actual = raw.hex()
        return expected.lower() == actual, actual
    actual = base64.b64encode(raw).decode("ascii")
    return expected == actual, actual


def hashable(algorithm: str) -> bool:
    """True for digests hashlib computes with a fixed size (md5, sha1, sha512, ...); others are skipped."""
    import hashlib

    return algorithm in hashlib.algorithms_guaranteed and not algorithm.startswith("shake")


def canonical_digest(algorithm: str, value: str) -> str | None:
    """A published digest (hex or base64 of the raw digest) as lower-case hex, or None when it is neither.

    Kaggle and Google Cloud Storage send base64, static registries hex; the digest index keys by
    one form so either finds the other.
    """
    import base64
    import binascii
    import hashlib

    algo, text = algorithm.lower(), value.strip()
    size = hashlib.new(algo).digest_size if hashable(algo) else None
    if size is not None and len(text) == 2 * size and re.fullmatch(r"[0-9a-fA-F]+", text):
        return text.lower()
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (ValueError, binascii.Error):
        return None
    if not raw or (size is not None and len(raw) != size):
        return None
    return raw.hex()
