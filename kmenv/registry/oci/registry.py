"""An OCI registry holding ModelPack artifacts, as a kmenv registry (``oci://HOST/NAMESPACE``).

Lazy, because each answer is a round trip: the constructor does no I/O. An instance's tags are
listed when its versions are first asked for (or, for every declared instance at once, by
:meth:`OciRegistry.prefetch`); then every numbered tag's manifest is read, a few in parallel, since
licence, requirements and base model live in its annotations. A config blob is read only for
artifacts that lack kmenv's annotations. Everything read is kept for the life of the object. Files
come through kmenv's fetch pipeline from the blob endpoint: a raw layer's digest is the file's
sha256, so the store verifies it like any download. A version with tar layers lists its files only
when asked for them (:meth:`OciRegistry.files`), which downloads and unpacks those layers into the
store (:mod:`kmenv.registry.oci.layers`); their files' sources are then the store's own blobs.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from kmenv.errors import HandleError, KmenvError, ModelNotFoundError, NetworkError, RegistryDocumentError, RegistryError
from kmenv.fetch.source import FileSource
from kmenv.registry.base import Registry
from kmenv.registry.oci.auth import Authorizer
from kmenv.registry.oci.client import MAX_DOCUMENT, OciClient, pull_scope
from kmenv.registry.oci.layers import learn_archives
from kmenv.registry.oci.modelpack import (
    MANIFEST_TYPE,
    ArchiveLayer,
    ParsedManifest,
    VersionMetadata,
    config_metadata,
    parse_manifest,
)
from kmenv.registry.oci.reference import handle_of, version_of_tag
from kmenv.store.blobstore import Store
from kmenv.values.candidates import BaseModelRef, Candidate, FileEntry
from kmenv.values.discovery import VersionSummary
from kmenv.values.handles import Handle
from kmenv.values.target import framework_requirements

__all__ = ["MAX_REPOSITORIES", "MAX_TAGS", "OciRegistry"]

#: The most tags of one repository, and repositories of a catalog, kmenv reads.
MAX_TAGS = 10_000
MAX_REPOSITORIES = 100_000
_PARALLEL_MANIFESTS = 8
_PARALLEL_INSTANCES = 4
_ACCEPT = {"Accept": MANIFEST_TYPE}
#: Answers to a blob HEAD that mean "present": the blob, or a redirect to where storage keeps it.
_PRESENT = frozenset({200, 301, 302, 303, 307, 308})


class OciRegistry(Registry):
    """A registry read from an OCI distribution API (implements :class:`kmenv.registry.base.Registry`)."""

    def __init__(self, name: str, client: OciClient, *, store: Store | None = None) -> None:
        self.name = name
        self.client = client
        self.location = client.location
        self.store = store  # where tar layers are unpacked; a registry without one refuses them
        self._lock = threading.RLock()
        self._versions: dict[Handle, tuple[Candidate, ...]] = {}
        self._single: dict[Handle, Candidate] = {}  # versioned handle → candidate read from its own manifest
        self._tarred: dict[Handle, ParsedManifest] = {}  # versioned handle → manifest, for versions with tar layers
        self._unpacked: dict[Handle, tuple[FileEntry, ...]] = {}
        self._unpacking = threading.Lock()
        self._catalog: tuple[Handle, ...] | None = None
        self._authorised: set[str] = set()

    def __repr__(self) -> str:
        return f"OciRegistry({self.name!r}, {self.location.url!r})"

    # -- the Registry protocol -------------------------------------------------------------

    def instances(self, owner: str, model: str) -> Sequence[Handle]:
        """The instances of ``owner/model`` the catalog lists (``ModelNotFoundError`` when none)."""
        wanted = (owner.lower(), model.lower())
        found = sorted(h for h in self.list_all() if (h.owner, h.model) == wanted)
        if not found:
            raise ModelNotFoundError(
                f"registry {self.name!r} has no model {owner}/{model}",
                hint="check the handle, or push it there with `kmenv mirror`",
            )
        return found

    def versions(self, instance: Handle) -> Sequence[Candidate]:
        """Every numbered tag of the instance's repository as a candidate, newest first, files included."""
        key = instance.unversioned()
        with self._lock:
            known = self._versions.get(key)
        if known is not None:
            return known
        repository = self.location.repository(key)
        numbers = sorted(
            {
                n
                for tag in self.client.pages(
                    f"/v2/{repository}/tags/list",
                    "tags",
                    scope=pull_scope(repository),
                    what=f"listing the versions of {key}",
                    limit=MAX_TAGS,
                )
                if (n := version_of_tag(tag)) is not None
            },
            reverse=True,
        )
        if not numbers:
            raise ModelNotFoundError(
                f"registry {self.name!r} has no version of {key} (repository {repository} has no numbered tag)",
                hint="versions are tags named 1, 2, 3, …; push one with `kmenv mirror`",
            )
        workers = min(_PARALLEL_MANIFESTS, len(numbers))
        if workers == 1:
            candidates = tuple(self._candidate(key, repository, n) for n in numbers)
        else:
            with ThreadPoolExecutor(workers) as pool:
                candidates = tuple(pool.map(lambda n: self._candidate(key, repository, n), numbers))
        with self._lock:
            self._versions[key] = candidates
        return candidates

    def files(self, candidate: Candidate) -> Sequence[FileEntry]:
        """The files of ``candidate`` as its manifest lists them, sorted by path (tar layers unpacked first)."""
        found = self._find(candidate)
        with self._lock:
            tarred = self._tarred.get(found.handle)
        return found.files if tarred is None else self._unpack(found.handle, tarred)

    def source(self, candidate: Candidate, file: FileEntry) -> FileSource:
        """The blob endpoint of ``file``'s digest, with the login the registry asked for (no I/O once authorised).

        A file from a tar layer has no blob of its own in the registry: its source is the store's blob,
        which :meth:`files` made when it unpacked the layer (and makes now, if not done yet).
        """
        repository = self.location.repository(candidate.handle.unversioned())
        versioned = candidate.handle.unversioned().with_version(candidate.version)
        self._find(candidate)
        with self._lock:
            tarred = self._tarred.get(versioned)
        if tarred is not None and all(f.path != file.path for f in tarred.files):
            assert self.store is not None, "versions with tar layers are unpacked into a store"
            self._unpack(versioned, tarred)
            return FileSource(url=self.store.blob_path(file.sha256).as_uri())
        return self._blob_source(repository, file.sha256, file.path)

    def _blob_source(self, repository: str, sha256: str, what: str) -> FileSource:
        scope = pull_scope(repository)
        self._authorise(repository, sha256, what)
        return FileSource(
            url=self.location.blob_url(repository, sha256),
            headers=_LiveHeaders(self.client.auth, scope),
            verify=self.client.verify,
        )

    def _unpack(self, versioned: Handle, parsed: ParsedManifest) -> tuple[FileEntry, ...]:
        """The files of a version with tar layers, its layers fetched and unpacked once per run."""
        with self._unpacking:
            known = self._unpacked.get(versioned)
            if known is not None:
                return known
            repository = self.location.repository(versioned.unversioned())
            where = f"{self.location.host}/{repository}:{versioned.version}"
            if self.store is None:
                raise RegistryError(
                    f"{where} has tar layers, which kmenv unpacks into its store, and this registry has none",
                    hint="open the registry through a project (kmodels.yaml), or push the model with raw layers",
                )

            def source_of(layer: ArchiveLayer) -> FileSource:
                return self._blob_source(repository, layer.sha256, f"layer {layer.number}")

            blob_prefix = self.location.blob_url(repository, "")
            raw = tuple(replace(f, url=blob_prefix + f.sha256) for f in parsed.files)
            learned = learn_archives(self.store, parsed.archives, source_of, raw=raw, where=where)
            self._unpacked[versioned] = learned
            return learned

    def _authorise(self, repository: str, sha256: str, what: str) -> None:
        """Meet the registry's challenge for ``repository`` once (a HEAD of the first blob), so sources carry it."""
        with self._lock:
            if repository in self._authorised:
                return
        scope = pull_scope(repository)
        what = f"checking {what} of {repository}"
        response = self.client.send("HEAD", self.location.blob_url(repository, sha256), scope=scope, what=what)
        with response:
            if response.status_code not in _PRESENT:
                self.client.fail(response, scope, what)
        with self._lock:
            self._authorised.add(repository)

    def describe_versions(self, instance: Handle) -> Sequence[VersionSummary]:
        """Every version, newest first; a version with tar layers not unpacked yet counts no files (unknown
        until its layers are downloaded, which listing versions does not do)."""
        rows = []
        for n, candidate in enumerate(self.versions(instance.unversioned())):
            with self._lock:
                tarred = candidate.handle in self._tarred
                files = self._unpacked.get(candidate.handle) if tarred else candidate.files
            rows.append(
                VersionSummary(
                    version=candidate.version,
                    latest=n == 0,
                    files=None if files is None else len(files),
                    size=None if files is None else sum(f.size for f in files),
                    license=candidate.license,
                    published=candidate.published or "",
                    requires=dict(candidate.requires),
                )
            )
        return rows

    def prefetch(self, handles: Iterable[Handle | str]) -> None:
        """Read the declared instances' versions in parallel before the resolver asks one by one.

        Errors are left for the resolver to meet (and report) when it asks the same question.
        """
        jobs: list[Callable[[], object]] = []
        for item in handles:
            try:
                handle = Handle.parse(item) if isinstance(item, str) else item
            except HandleError:
                continue
            jobs.append(self.list_all if handle.is_partial else functools.partial(self.versions, handle.unversioned()))
        if len(jobs) < 2:
            return
        with ThreadPoolExecutor(min(_PARALLEL_INSTANCES, len(jobs)), thread_name_prefix="kmenv-oci") as pool:
            for future in [pool.submit(job) for job in jobs]:
                with contextlib.suppress(KmenvError):
                    future.result()

    # -- discovery -------------------------------------------------------------------------

    def list_all(self) -> Sequence[Handle]:
        """Every instance under the namespace, from ``/v2/_catalog`` (read once; bounded)."""
        with self._lock:
            if self._catalog is not None:
                return self._catalog
        try:
            names = list(
                self.client.pages(
                    "/v2/_catalog",
                    "repositories",
                    scope="registry:catalog:*",
                    what="listing its repositories",
                    limit=MAX_REPOSITORIES,
                )
            )
        except RegistryError as exc:
            if isinstance(exc, NetworkError | RegistryDocumentError):
                raise
            raise RegistryError(
                f"registry {self.name!r} does not list its repositories ({exc.message})",
                hint="name the full instance in kmodels.yaml (owner/model/framework/variation), which needs no listing",
            ) from None
        handles = tuple(sorted({h for n in names if (h := handle_of(self.location, n)) is not None}))
        with self._lock:
            self._catalog = handles
        return handles

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    # -- reading ---------------------------------------------------------------------------

    def _find(self, candidate: Candidate) -> Candidate:
        """The registry's record of ``candidate``: from the listing when read, else from its one tag's manifest.

        Installing from a lock asks for files of known versions only; reading every tag's manifest for that
        would cost a thousand runners a thousand listings of every version.
        """
        key = candidate.handle.unversioned()
        with self._lock:
            listed = key in self._versions
            single = self._single.get(key.with_version(candidate.version))
        if single is not None:
            return single
        if not listed:
            single = self._read_candidate(key, self.location.repository(key), candidate.version)
            if single is not None:
                with self._lock:
                    self._single[key.with_version(candidate.version)] = single
                return single
        known = self.versions(key)
        for found in known:
            if found.version == candidate.version:
                return found
        raise ModelNotFoundError(
            f"registry {self.name!r} has no version {candidate.version} of {candidate.handle.unversioned()}",
            hint="its versions are " + ", ".join(str(c.version) for c in known),
        )

    def _candidate(self, key: Handle, repository: str, number: int) -> Candidate:
        found = self._read_candidate(key, repository, number)
        if found is None:  # nothing the user typed is wrong: the registry changed under the read
            raise RegistryError(
                f"registry {self.name!r}: {self.location.host}/{repository}:{number} is listed but has no manifest",
                hint="the tag was deleted while kmenv read; run the command again",
            )
        return found

    def _read_candidate(self, key: Handle, repository: str, number: int) -> Candidate | None:
        """The version tagged ``number`` as a candidate, or None when the registry has no such manifest."""
        where = f"{self.location.host}/{repository}:{number}"
        data = self.client.read_json(
            f"/v2/{repository}/manifests/{number}",
            scope=pull_scope(repository),
            headers=_ACCEPT,
            cap=MAX_DOCUMENT,
            what=f"reading the manifest of {key}/{number}",
        )
        if data is None:
            return None
        parsed = parse_manifest(data, where)
        metadata = parsed.metadata if parsed.complete else self._with_config(parsed, repository, where)
        if parsed.archives:  # its files are known once its tar layers are unpacked: `files` does that, if asked
            with self._lock:
                self._tarred[key.with_version(number)] = parsed
            parsed = replace(parsed, files=())
        return _to_candidate(self.name, key, number, parsed, metadata, self.location.blob_url(repository, ""))

    def _with_config(self, parsed: ParsedManifest, repository: str, where: str) -> VersionMetadata:
        data = self.client.read_json(
            f"/v2/{repository}/blobs/sha256:{parsed.config_digest}",
            scope=pull_scope(repository),
            cap=MAX_DOCUMENT,
            what=f"reading the config of {where}",
        )
        if data is None:
            raise RegistryDocumentError(f"{where}: its config blob is missing", hint="push the version again")
        found = config_metadata(data, where)
        own = parsed.metadata
        return replace(
            found,
            license=own.license or found.license,
            requires=own.requires,
            base=own.base,
            published=own.published or found.published,
            title=own.title or found.title,
        )


class _LiveHeaders(Mapping[str, str]):
    """A source's headers, read afresh at every request: a long download's later files and its resumes
    carry a token that has not expired (registries' tokens last minutes, big downloads longer)."""

    def __init__(self, auth: Authorizer, scope: str) -> None:
        self._auth = auth
        self._scope = scope

    def __getitem__(self, key: str) -> str:
        return self._auth.headers(self._scope)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._auth.headers(self._scope))

    def __len__(self) -> int:
        return len(self._auth.headers(self._scope))

    def __repr__(self) -> str:
        return "<registry login headers>"


def _to_candidate(
    registry: str, key: Handle, number: int, parsed: ParsedManifest, metadata: VersionMetadata, blob_prefix: str
) -> Candidate:
    assert key.framework is not None, "OCI instances are always full"
    files = tuple(replace(f, url=blob_prefix + f.sha256) for f in parsed.files)
    base = None
    if metadata.base is not None:
        try:
            base_handle = Handle.parse(metadata.base[0])
        except HandleError as exc:
            raise RegistryDocumentError(
                f"{key}/{number}: the base model annotation: {exc.message}", hint="push the version again"
            ) from None
        base = BaseModelRef(base_handle.unversioned(), metadata.base[1], registry=registry)
    return Candidate(
        handle=key.with_version(number),
        registry=registry,
        license=metadata.license,
        requires=framework_requirements(key.framework, dict(metadata.requires)),
        base=base,
        files=files,
        title=metadata.title,
        published=metadata.published,
    )
