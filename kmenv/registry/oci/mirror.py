"""An OCI registry as a mirror target: each instance a repository, each version a ModelPack-tagged manifest.

Blobs belong to repositories in the distribution API, so every check and upload names the instance it is
for. A blob is checked with HEAD before anything is sent; one already uploaded to another repository in
this run is mounted from there (no bytes move) where the registry allows it; only then is it uploaded.
Versions are pushed when their instance is complete, through :func:`kmenv.registry.oci.push.push_version`,
which writes the config and the manifest last and nothing at all when the tag already names the same
manifest. So a second run uploads no bytes, and an interrupted one resumes with the blobs already there.
A tag that names other files (a version changed upstream) is refused, never overwritten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from kmenv.errors import IntegrityError
from kmenv.registry.oci.client import MAX_DOCUMENT, OciClient, push_scope
from kmenv.registry.oci.modelpack import MANIFEST_TYPE, VersionMetadata, parse_manifest
from kmenv.registry.oci.push import PushFile, blob_present, push_blob, push_version
from kmenv.registry.static.mirror import MirroredVersion
from kmenv.values.handles import Handle

__all__ = ["OciMirror"]


class OciMirror:
    """Writes mirrored versions into the registry ``client`` talks to; ``blob_path`` finds a blob in the store."""

    def __init__(self, client: OciClient, blob_path: Callable[[str], Path], *, url: str) -> None:
        self.client = client
        self.blob_path = blob_path
        self.url = url
        #: bytes of configs (and manifests) sent, which the per-blob count leaves out
        self.metadata_bytes = 0
        self._holders: dict[str, list[str]] = {}  # sha256 → repositories known to hold it
        self._missing: set[tuple[str, str]] = set()  # (repository, sha256) a HEAD just found absent
        self._lock = threading.Lock()  # blobs are checked and put from several threads

    def __str__(self) -> str:
        return self.url

    def _repository(self, instance: Handle) -> str:
        return self.client.location.repository(instance.unversioned())

    def has_blob(self, instance: Handle, sha256: str, size: int) -> bool:
        repository = self._repository(instance)
        with self._lock:
            if repository in self._holders.get(sha256, ()):
                return True
        present = blob_present(self.client, repository, sha256)
        with self._lock:
            if present:
                self._holders.setdefault(sha256, []).append(repository)
            else:
                self._missing.add((repository, sha256))
        return present

    def put_blob(
        self, instance: Handle, sha256: str, size: int, source: Path, on_bytes: Callable[[int], None] | None = None
    ) -> int:
        """Upload (or mount) the verified blob at ``source``; returns the bytes uploaded.

        A blob :meth:`has_blob` has just found missing is not asked about again.
        """
        repository = self._repository(instance)
        with self._lock:
            holders = tuple(self._holders.get(sha256, ()))
            checked = (repository, sha256) in self._missing
            self._missing.discard((repository, sha256))
        sent = push_blob(
            self.client, repository, sha256, size, source, mount_from=holders, on_bytes=on_bytes, checked=checked
        )
        with self._lock:
            self._holders.setdefault(sha256, []).append(repository)
        return sent

    def put_instance(self, handle: Handle, title: str | None, versions: Sequence[MirroredVersion]) -> None:
        """Push each version's manifest (its blobs are in place); a tag holding other files is refused."""
        for version in versions:
            self._refuse_changed(handle, version)
            metadata = VersionMetadata(
                license=version.license,
                licenses=(version.spdx,) if version.spdx else (),
                requires=dict(version.requires),
                base=version.base,
                published=version.published,
                title=title,
                source=version.source,
            )
            files = [PushFile(f.path, self.blob_path(f.sha256), f.sha256, f.size) for f in version.files]
            result = push_version(self.client, handle.unversioned(), version.version, files, metadata)
            self.metadata_bytes += result.bytes_uploaded

    def finish(self) -> None:
        """Nothing is left to write: every manifest went out with its instance."""

    def close(self) -> None:
        self.client.close()

    def _refuse_changed(self, handle: Handle, version: MirroredVersion) -> None:
        repository = self._repository(handle)
        where = f"{self.client.location.host}/{repository}:{version.version}"
        data = self.client.read_json(
            f"/v2/{repository}/manifests/{version.version}",
            scope=push_scope(repository),
            headers={"Accept": MANIFEST_TYPE},
            cap=MAX_DOCUMENT,
            what=f"reading the manifest of {where}",
        )
        if data is None:
            return
        held = sorted((f.path, f.size, f.sha256) for f in parse_manifest(data, where).files)
        if held != sorted((f.path, f.size, f.sha256) for f in version.files):
            raise IntegrityError(
                f"{where}: the mirror already holds version {version.version} of {handle} with other files",
                hint="a published version changed upstream; mirror into a fresh namespace, or delete that tag first",
            )
