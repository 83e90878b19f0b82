"""Pushing one model version to an OCI registry as a ModelPack artifact: blobs, config, then the tag.

Idempotent and cheap to repeat: every blob is checked with HEAD first and skipped when present,
mounted from another repository of the same registry when the caller names candidates (no bytes
move), and uploaded otherwise (one PUT, or PATCH chunks then PUT for big files when ``chunk_size``
is set). The manifest goes last, so a tag never names a blob that is not there; when the tag already
names this exact manifest nothing is written at all. Files are read from disk (the store's blobs),
never held in memory.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO
from urllib.parse import urljoin

from kmenv.errors import RegistryError, UsageError
from kmenv.registry.oci.client import OciClient, push_scope
from kmenv.registry.oci.modelpack import (
    MANIFEST_TYPE,
    PublishedFile,
    VersionMetadata,
    build_config,
    build_manifest,
)
from kmenv.values.candidates import Candidate
from kmenv.values.handles import Handle
from kmenv.values.paths import relative_path_problem
from kmenv.values.target import framework_requirements

__all__ = ["PushFile", "PushResult", "blob_present", "metadata_for", "push_blob", "push_folder", "push_version"]

_OCTETS = "application/octet-stream"


@dataclass(frozen=True)
class PushFile:
    """One file to publish: ``path`` inside the model folder, ``blob`` where its bytes are on disk."""

    path: str
    blob: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class PushResult:
    """What a push did: bytes sent, blobs already there (skipped) or mounted, and the manifest's digest.

    ``manifest_pushed`` is False when the tag already named this exact manifest.
    """

    reference: str
    manifest_digest: str
    bytes_uploaded: int
    blobs_uploaded: int
    blobs_skipped: int
    blobs_mounted: int
    manifest_pushed: bool


class _Tally:
    def __init__(self) -> None:
        self.bytes = self.uploaded = self.skipped = self.mounted = 0


def push_version(
    client: OciClient,
    instance: Handle,
    version: int,
    files: Sequence[PushFile | tuple[str, Path, str, int]],
    metadata: VersionMetadata,
    *,
    mount_from: Sequence[Handle] = (),
    chunk_size: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> PushResult:
    """Publish ``files`` as version ``version`` of ``instance`` (tag ``"<version>"``) with ``metadata``.

    ``mount_from`` names other instances on the same registry that may already hold some blobs
    (earlier versions are tried by the registry itself when the blob is in the target repository).
    ``on_bytes`` hears the bytes as they are sent, for progress bars.
    """
    if version < 1:
        raise UsageError(f"{instance}: version {version} is not a positive integer", hint="versions are 1, 2, 3, …")
    listed = sorted((f if isinstance(f, PushFile) else PushFile(*f) for f in files), key=lambda f: f.path)
    _check_files(instance, listed)
    location = client.location
    repository = location.repository(instance.unversioned())
    sources = [location.repository(h.unversioned()) for h in mount_from]
    published = [PublishedFile(f.path, f.size, f.sha256) for f in listed]
    named = replace_handle(metadata, instance)
    config = build_config(str(instance.unversioned()), version, published, named)
    config_sha = hashlib.sha256(config).hexdigest()
    manifest = build_manifest(config_sha, len(config), published, named, version)
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    reference = f"{location.host}/{repository}:{version}"
    tally = _Tally()
    if _manifest_digest(client, repository, str(version)) == manifest_digest:
        return PushResult(reference, manifest_digest, 0, 0, len(listed) + 1, 0, manifest_pushed=False)
    uploaded: set[str] = set()
    for file in listed:
        if file.sha256 in uploaded:
            tally.skipped += 1
            continue
        opener = functools.partial(_open_binary, file.blob)
        _push_blob(client, repository, file.sha256, file.size, opener, sources, chunk_size, tally, on_bytes)
        uploaded.add(file.sha256)
    _push_blob(client, repository, config_sha, len(config), config, (), None, tally, on_bytes)
    what = f"pushing the manifest of {reference}"
    response = client.send(
        "PUT",
        f"/v2/{repository}/manifests/{version}",
        scope=push_scope(repository),
        headers={"Content-Type": MANIFEST_TYPE},
        body=manifest,
        what=what,
    )
    with response:
        if response.status_code not in (200, 201):
            client.fail(response, push_scope(repository), what)
    return PushResult(
        reference, manifest_digest, tally.bytes, tally.uploaded, tally.skipped, tally.mounted, manifest_pushed=True
    )


def metadata_for(candidate: Candidate, *, licenses: Sequence[str] = (), source: str | None = None) -> VersionMetadata:
    """What to publish for ``candidate`` so that reading it back gives the same candidate (for mirrors).

    The framework's implied requirements are left out (a reader adds them again); ``licenses`` are
    SPDX ids for ModelPack's config; ``source`` names the origin (``kaggle:owner/model/…/3``).
    """
    implied = framework_requirements(candidate.framework)
    own: dict[str, str] = {}
    for name, spec in candidate.requires.items():
        base = implied.get(name)
        if base == spec:
            continue
        own[name] = spec[len(base) + 1 :] if base and spec.startswith(base + ",") else spec
    base_ref = (str(candidate.base.handle), candidate.base.versions) if candidate.base is not None else None
    return VersionMetadata(
        license=candidate.license,
        licenses=tuple(licenses),
        requires=own,
        base=base_ref,
        published=candidate.published,
        title=candidate.title,
        source=source,
    )


def replace_handle(metadata: VersionMetadata, instance: Handle) -> VersionMetadata:
    """``metadata`` naming ``instance`` and its framework (what a reader needs to recognise kmenv's artifact)."""
    return replace(metadata, handle=str(instance.unversioned()), framework=instance.framework)


def push_folder(
    client: OciClient, instance: Handle, version: int, folder: Path, metadata: VersionMetadata
) -> PushResult:
    """Push every file under ``folder`` (paths relative to it) as one version; for tests and scripts."""
    from kmenv.store.integrity import hash_file

    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    files = [PushFile(p.relative_to(folder).as_posix(), p, hash_file(p), p.stat().st_size) for p in paths]
    return push_version(client, instance, version, files, metadata)


def _check_files(instance: Handle, files: Sequence[PushFile]) -> None:
    seen: set[str] = set()
    for file in files:
        problem = relative_path_problem(file.path)
        if problem is not None:
            raise UsageError(f"{instance}: cannot publish {file.path!r}: {problem}", hint="fix the file's path")
        if file.path in seen:
            raise UsageError(f"{instance}: {file.path!r} is listed twice", hint="list each file once")
        seen.add(file.path)
        try:
            size = os.stat(file.blob).st_size
        except OSError as exc:
            raise UsageError(
                f"{instance}: cannot read {file.blob}: {exc.strerror or exc}", hint="check the file is there"
            ) from None
        if size != file.size:
            raise UsageError(
                f"{instance}: {file.path} is {size} bytes on disk, not {file.size}",
                hint="the blob changed since it was listed; verify the store (`kmenv cache verify`) and try again",
            )


def _open_binary(path: Path) -> IO[bytes]:
    return path.open("rb")


class _Counted:
    """A file being sent, its reads told to ``on_bytes``; ``len`` makes requests send ``Content-Length``."""

    def __init__(self, handle: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self._handle = handle
        self._on_bytes = on_bytes
        self.sent = 0
        self.len = os.fstat(handle.fileno()).st_size

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        if data:
            self.sent += len(data)
            self._on_bytes(len(data))
        return data

    def __iter__(self) -> Iterator[bytes]:  # requests streams a body that iterates
        return iter(lambda: self.read(1 << 20), b"")

    def close(self) -> None:
        self._handle.close()


def _counting(opener: Callable[[], IO[bytes]], on_bytes: Callable[[int], None]) -> Callable[[], IO[bytes]]:
    """``opener`` whose reads are counted; a retry, which reopens the file, first takes back what the try sent."""
    last: list[_Counted] = []

    def reopen() -> IO[bytes]:
        if last and last[0].sent:
            on_bytes(-last[0].sent)
        last[:] = [_Counted(opener(), on_bytes)]
        return last[0]  # type: ignore[return-value]

    return reopen


def _manifest_digest(client: OciClient, repository: str, tag: str) -> str | None:
    what = f"checking {repository}:{tag}"
    response = client.send(
        "HEAD",
        f"/v2/{repository}/manifests/{tag}",
        scope=push_scope(repository),
        headers={"Accept": MANIFEST_TYPE},
        what=what,
    )
    with response:
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            client.fail(response, push_scope(repository), what)
        return response.headers.get("Docker-Content-Digest")


def blob_present(client: OciClient, repository: str, sha256: str) -> bool:
    """Whether ``repository`` already holds the blob (HEAD; a redirect to where it is stored counts)."""
    scope = push_scope(repository)
    what = f"checking sha256:{sha256[:12]} in {repository}"
    response = client.send("HEAD", f"/v2/{repository}/blobs/sha256:{sha256}", scope=scope, what=what)
    with response:
        if response.status_code in (200, 301, 302, 303, 307, 308):
            return True
        if response.status_code != 404:
            client.fail(response, scope, what)
        return False


def push_blob(
    client: OciClient,
    repository: str,
    sha256: str,
    size: int,
    blob: Path,
    *,
    mount_from: Sequence[str] = (),
    chunk_size: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
    checked: bool = False,
) -> int:
    """Put one blob (read from ``blob``) into ``repository``, mounting it from ``mount_from`` repositories
    when the registry can; returns the bytes uploaded (0 when it was there or mounted).

    ``checked`` says the caller has just seen the blob missing (a HEAD), so it is not asked again.
    ``on_bytes`` hears the bytes as they are sent (a negative count when a retry starts again).
    """
    tally = _Tally()
    opener = functools.partial(_open_binary, blob)
    _push_blob(client, repository, sha256, size, opener, mount_from, chunk_size, tally, on_bytes, checked=checked)
    return tally.bytes


def _push_blob(
    client: OciClient,
    repository: str,
    sha256: str,
    size: int,
    body: bytes | Callable[[], IO[bytes]],
    sources: Sequence[str],
    chunk_size: int | None,
    tally: _Tally,
    on_bytes: Callable[[int], None] | None,
    *,
    checked: bool = False,
) -> None:
    digest = f"sha256:{sha256}"
    scope = push_scope(repository)
    what = f"uploading {digest[:19]} to {repository}"
    if not checked and blob_present(client, repository, sha256):
        tally.skipped += 1
        return
    location = None
    for source in sources:
        if source == repository:
            continue
        mount_scope = f"{scope} repository:{source}:pull"
        response = client.send(
            "POST", f"/v2/{repository}/blobs/uploads/?mount={digest}&from={source}", scope=mount_scope, what=what
        )
        with response:
            if response.status_code == 201:
                tally.mounted += 1
                return
            if response.status_code == 202:
                location = response.headers.get("Location")
                break
    if location is None:
        response = client.send("POST", f"/v2/{repository}/blobs/uploads/", scope=scope, what=what)
        with response:
            if response.status_code != 202:
                client.fail(response, scope, what)
            location = response.headers.get("Location")
    if not location:
        raise RegistryError(
            f"registry {client.name!r}: {what}: the registry gave no upload location",
            hint="the registry does not follow the OCI distribution spec; tell its admin",
        )
    url = urljoin(client.location.base + "/", location)
    if chunk_size is not None and size > chunk_size and callable(body):
        url = _patch_chunks(client, url, body, size, chunk_size, scope, what, on_bytes)
        data: bytes | Callable[[], IO[bytes]] = b""
    elif callable(body) and on_bytes is not None:
        data = _counting(body, on_bytes)
    else:
        data = body
    separator = "&" if "?" in url else "?"
    response = client.send(
        "PUT",
        f"{url}{separator}digest={digest}",
        scope=scope,
        headers={"Content-Type": _OCTETS, "Content-Length": str(0 if data == b"" else size)},
        body=data,
        what=what,
    )
    with response:
        if response.status_code not in (201, 204):
            client.fail(response, scope, what)
    tally.uploaded += 1
    tally.bytes += size
    if isinstance(data, bytes) and data and on_bytes is not None:
        on_bytes(size)  # a config: sent in one piece


def _patch_chunks(
    client: OciClient,
    url: str,
    opener: Callable[[], IO[bytes]],
    size: int,
    chunk_size: int,
    scope: str,
    what: str,
    on_bytes: Callable[[int], None] | None,
) -> str:
    """Send the file in ``chunk_size`` PATCHes; the upload URL to finish with."""
    offset = 0
    with opener() as handle:
        while offset < size:
            chunk = handle.read(chunk_size)
            if not chunk:
                break
            end = offset + len(chunk) - 1
            response = client.send(
                "PATCH",
                url,
                scope=scope,
                headers={
                    "Content-Type": _OCTETS,
                    "Content-Range": f"{offset}-{end}",
                    "Content-Length": str(len(chunk)),
                },
                body=chunk,
                what=what,
            )
            with response:
                if response.status_code != 202:
                    client.fail(response, scope, what)
                location = response.headers.get("Location")
            if location:
                url = urljoin(client.location.base + "/", location)
            offset += len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return url
