"""``KaggleRegistry``: the Kaggle Models API behind the :class:`~kmenv.registry.base.Registry` protocol.

Every answer costs a round trip, so the registry is lazy: ``versions`` reads one instance's
metadata and version list (two calls) and returns candidates *without* files; ``files`` is called
only for the versions a resolve chose. Kaggle lists a file's path and size but never its sha256,
which the lock needs, so ``files`` learns it: from the candidate itself (a lock made earlier), from
what this machine learned before (metadata cache), or by downloading the file into the store
(:func:`kmenv.fetch.fetch_unknown`), which makes the install that follows instant; a download whose
reply's ``x-goog-hash`` md5 is already in the store's md5 index stops before the body, so a file
this machine has costs one reply's headers, without a probe. Past :data:`ARCHIVE_THRESHOLD` unknown
files, the one whole-version archive is fetched instead when it moves fewer bytes than the files one
by one (:func:`~kmenv.registry.kaggle.archive.choose_fetch`), verified, then unpacked into the store
member by member (:mod:`kmenv.registry.kaggle.archive`); what that downloads is counted for the usage
ledger (:mod:`kmenv.registry.kaggle.transfers`). Metadata answers are cached per identity, and blobs
the shared store already holds are handed over only to an identity Kaggle authorised for the version
(:meth:`KaggleRegistry.authorise`, :mod:`kmenv.registry.kaggle.entitlement`).
It is one responsibility: the Registry protocol (and the discovery queries) over the Kaggle API, with the
sha256 learning that protocol forces; the wire format lives in ``client`` and ``mapping``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from kmenv.errors import HandleError, KmenvError, ModelNotFoundError, RegistryError
from kmenv.fetch.progress import ProgressSink
from kmenv.fetch.source import FileSource
from kmenv.fetch.unhashed import Slots, current_cancel, fetch_unknown, map_interruptible
from kmenv.registry.base import Registry, Transfer
from kmenv.registry.kaggle.archive import choose_fetch, earlier_sizes, learn_from_archive
from kmenv.registry.kaggle.client import KaggleClient
from kmenv.registry.kaggle.discovery import KaggleDiscovery
from kmenv.registry.kaggle.entitlement import Entitlements, authorise
from kmenv.registry.kaggle.local_copies import local_copy
from kmenv.registry.kaggle.mapping import (
    InstanceInfo,
    ModelInfo,
    RemoteFile,
    framework_enum,
    make_candidate,
    parse_files,
    parse_instance,
    parse_model,
    parse_versions,
    version_licence,
    web_url,
)
from kmenv.registry.kaggle.not_found import explain_missing_instance, explain_missing_version
from kmenv.registry.kaggle.probe import parse_goog_hash
from kmenv.registry.kaggle.transfers import TransferLog
from kmenv.store.blobstore import Store
from kmenv.values.candidates import Candidate, FileEntry
from kmenv.values.handles import Handle
from kmenv.values.wording import counted

__all__ = ["ARCHIVE_THRESHOLD", "KaggleRegistry", "parse_goog_hash"]

#: Beyond this many files to learn, one archive beats one request per file (kagglehub's rule too).
ARCHIVE_THRESHOLD = 25


def _instance_body(handle: Handle) -> dict[str, object]:
    assert handle.framework is not None and handle.variation is not None, "a full handle"
    return {
        "ownerSlug": handle.owner,
        "modelSlug": handle.model,
        "framework": framework_enum(handle.framework),
        "instanceSlug": handle.variation,
    }


class KaggleRegistry(KaggleDiscovery, Registry):
    """Implements :class:`kmenv.registry.Registry` over :class:`KaggleClient`, discovery too (:class:`KaggleDiscovery`).

    ``store`` receives files whose sha256 must be learned; ``frameworks``: :mod:`kmenv.registry.frameworks`.
    """

    def __init__(
        self,
        name: str,
        client: KaggleClient,
        *,
        store: Store | None,
        frameworks: Mapping[str, Mapping[str, str]],
        workers: int = 8,
    ) -> None:
        self.name = name
        self.client = client
        self.store = store
        self.frameworks = frameworks
        self.workers = max(1, workers)
        self.entitlements = Entitlements(client.cache.dir)
        self.slots = Slots(self.workers)  # one budget of downloads, however many versions learn at once
        self._lock = threading.RLock()
        self._infos: dict[Handle, InstanceInfo] = {}
        self._numbers: dict[Handle, tuple[list[int], str | None]] = {}
        self._transfers = TransferLog()

    def __repr__(self) -> str:
        return f"KaggleRegistry({self.name!r}, {self.client.base_url!r})"

    # -- the Registry protocol ---------------------------------------------------------------

    def instances(self, owner: str, model: str) -> Sequence[Handle]:
        """Every instance of ``owner/model`` (``ListModelInstances``, every page), sorted."""
        found = sorted({i.handle for i in self.model_instances(owner, model)})
        if not found:
            raise ModelNotFoundError(
                f"Kaggle model {owner}/{model} has no instances",
                hint=f"see {web_url(Handle(owner, model))}",
            )
        return found

    def versions(self, instance: Handle) -> Sequence[Candidate]:
        """Every version of ``instance``, newest first; files are left empty (see :meth:`files`)."""
        key = instance.unversioned()
        info = self.instance_info(key)
        numbers, title = self.version_numbers(key)
        seen = self._licences_seen(key)
        candidates = []
        for number in numbers:
            licence, _ = version_licence(number, info, seen)
            candidates.append(
                make_candidate(info, number, registry=self.name, table=self.frameworks, licence=licence, title=title)
            )
        return candidates

    def files(self, candidate: Candidate) -> Sequence[FileEntry]:
        """The files of ``candidate`` with sha256 (learned as the module docstring says), sorted by path."""
        return self.learn_files(candidate.handle, hints=candidate.files)

    def learn_files(
        self,
        handle: Handle,
        *,
        hints: Iterable[FileEntry] = (),
        only: Iterable[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[FileEntry]:
        """The files of a version with their sha256; ``only`` limits it to some paths, ``hints`` are trusted
        entries (path, size, sha256) from a lock. A hint's sha256 is checked when its bytes are downloaded.
        Hashes this machine learned before are given only to an identity Kaggle authorised (:meth:`authorise`).
        ``cancel`` (set by a caller learning several versions at once) stops the downloads."""
        cancel = cancel or current_cancel(None) or threading.Event()
        listing = self.list_files(handle)
        if only is not None:
            keep = set(only)
            listing = [f for f in listing if f.path in keep]
        known = self.learned_files(handle)
        for f in hints:
            known.setdefault(f.path, f)
        result: dict[str, FileEntry] = {}
        unknown: list[RemoteFile] = []
        for remote in listing:
            hint = known.get(remote.path)
            if hint is not None and hint.size == remote.size:
                result[remote.path] = FileEntry(remote.path, remote.size, hint.sha256, digests=dict(hint.digests))
            else:
                unknown.append(remote)
        mounted = self._learn_mounted(handle, unknown)
        if mounted:  # attached to this notebook: hashed where it is mounted, which proves access as a download does
            result.update(mounted)
            unknown = [f for f in unknown if f.path not in mounted]
            self.entitlements.record(handle, self.client.identity)
            self._remember_files(handle, {**self.learned_files(handle), **result}.values())
        if unknown:
            if self.client.offline:
                raise RegistryError(
                    f"offline: the sha256 of {counted(len(unknown), 'file')} of {handle} is not known on this machine "
                    f"(e.g. {unknown[0].path})",
                    hint="run the command once online (kmenv learns the hashes by downloading the files)",
                )
            if len(unknown) > ARCHIVE_THRESHOLD:
                choice = choose_fetch(
                    unknown,
                    version_bytes=sum(f.size for f in self.list_files(handle)),
                    earlier=earlier_sizes(handle.version, lambda n: self.learned_files(handle.with_version(n))),
                )
                learn = self._learn_from_archive if choice.archive else self._learn_per_file
                result.update(learn(handle, choice.fetch, cancel))
            else:
                result.update(self._learn_per_file(handle, unknown, cancel))
            self.entitlements.record(handle, self.client.identity)  # Kaggle just served them to this identity
            self._remember_files(handle, {**self.learned_files(handle), **result}.values())
        elif set(result) - {f.path for f in hints} - set(mounted):  # another identity's learning: if authorised
            self.authorise(Candidate(handle=handle, registry=self.name, license=None, files=tuple(result.values())))
        return [result[p] for p in sorted(result)]

    def take_transfers(self) -> Sequence[Transfer]:
        """What learning sha256s downloaded since the last call (see :meth:`Registry.take_transfers`)."""
        return self._transfers.take()

    def show_progress(self, sink: ProgressSink | None) -> None:
        """Learning sha256s reports its downloads to ``sink`` from now on (see :meth:`Registry.show_progress`)."""
        self._transfers.show(sink)

    def source(self, candidate: Candidate, file: FileEntry) -> FileSource:
        """The download request for one file (a finished local copy first: kagglehub's, copied; a notebook's
        mount, used in place); no signed URL is ever stored."""
        copy = local_copy(candidate.handle, file.path, file.size)
        return (
            FileSource(copy.path.as_uri(), in_place=copy.mounted)
            if copy
            else self.client.download_source(self._file_body(candidate.handle, file.path))
        )

    def authorise(self, candidate: Candidate, *, fetched: bool = False) -> None:
        """Raise unless Kaggle authorised the current identity for ``candidate``'s version (see
        :func:`~kmenv.registry.kaggle.entitlement.authorise`: a record, or one download RPC not followed)."""
        first = min((f.path for f in candidate.files), default=None)
        probe = self._file_body(candidate.handle, first)
        authorise(self.client, self.entitlements, candidate.handle, probe, fetched=fetched)

    def prefetch(self, handles: Iterable[Handle | str]) -> None:
        """Fetch metadata for many declared models at once, so the resolver then finds it in the cache.

        Errors are left for the resolver to meet (and report) when it asks the same question.
        """
        jobs: list[Callable[[], object]] = []
        for item in handles:
            try:
                handle = Handle.parse(item) if isinstance(item, str) else item
            except HandleError:
                continue
            if handle.is_partial:
                jobs.append(partial(self.model_instances, handle.owner, handle.model))
            else:
                jobs.append(partial(self.instance_info, handle.unversioned()))
                jobs.append(partial(self.version_numbers, handle.unversioned()))
        if len(jobs) < 2 or self.client.offline:
            return
        with ThreadPoolExecutor(max_workers=min(self.workers, len(jobs)), thread_name_prefix="kmenv-meta") as pool:
            for future in [pool.submit(job) for job in jobs]:
                with contextlib.suppress(KmenvError):
                    future.result()

    # -- metadata ------------------------------------------------------------------------------

    def instance_info(self, handle: Handle) -> InstanceInfo:
        """``GetModelInstance``: the instance with its current version number and licence."""
        key = handle.unversioned()
        with self._lock:
            if key in self._infos:
                return self._infos[key]
        try:
            data = self.client.call(
                "GetModelInstance", _instance_body(key), what=f"model instance {key}", page_url=web_url(key)
            )
        except ModelNotFoundError as exc:
            raise explain_missing_instance(self, key, exc) from None
        info = parse_instance(data, key.owner, key.model)
        if info is None or info.latest < 1:
            raise RegistryError(
                f"Kaggle answered GetModelInstance for {key} without a framework, slug or version number",
                hint="check the API url; if it is right, Kaggle's answer changed shape: please report it",
            )
        info = InstanceInfo(**{**info.__dict__, "handle": key})
        self._remember_licence(key, info)
        with self._lock:
            self._infos[key] = info
        return info

    def version_numbers(self, handle: Handle) -> tuple[list[int], str | None]:
        """Every version number of an instance, newest first, and the model's title."""
        key = handle.unversioned()
        with self._lock:
            if key in self._numbers:
                return self._numbers[key]
        pages = list(self.client.pages("ListModelInstanceVersions", _instance_body(key), what=f"versions of {key}"))
        numbers = parse_versions(pages)
        latest = self.instance_info(key).latest
        if latest not in numbers:
            numbers = sorted({*numbers, latest}, reverse=True)
        title = next((str(v.get("modelTitle")) for p in pages for v in _versions_of(p) if v.get("modelTitle")), None)
        with self._lock:
            self._numbers[key] = (numbers, title)
        return numbers, title

    def list_files(self, handle: Handle) -> list[RemoteFile]:
        """``ListModelInstanceVersionFiles`` for one version, every page followed (a fixed version never changes)."""
        assert handle.version is not None, "a versioned handle"
        body = {**_instance_body(handle), "versionNumber": handle.version}
        pages = self.client.pages(
            "ListModelInstanceVersionFiles", body, what=f"files of {handle}", immutable=True, page_size=50
        )
        try:
            return parse_files(pages, f"Kaggle {handle}")
        except ModelNotFoundError as exc:
            raise explain_missing_version(self, handle, exc) from None

    def model_info(self, owner: str, model: str) -> ModelInfo:
        """``GetModel``: title, tags, votes, description and the instances."""
        try:
            data = self.client.call(
                "GetModel",
                {"ownerSlug": owner, "modelSlug": model},
                what=f"model {owner}/{model}",
                page_url=web_url(Handle(owner, model)),
            )
        except ModelNotFoundError as exc:
            raise explain_missing_instance(self, Handle(owner, model), exc) from None
        return parse_model(data)

    def model_instances(self, owner: str, model: str) -> list[InstanceInfo]:
        """``ListModelInstances`` (every page): the richer per-instance view (licence object, metrics, notes)."""
        body = {"ownerSlug": owner, "modelSlug": model}
        found: list[InstanceInfo] = []
        for page in self.client.pages("ListModelInstances", body, what=f"model {owner}/{model}"):
            items = page.get("instances")
            for item in items if isinstance(items, list) else ():
                info = parse_instance(item, owner, model) if isinstance(item, dict) else None
                if info is not None:
                    found.append(info)
        return found

    def search(self, body: Mapping[str, object]) -> Iterator[tuple[list[ModelInfo], int | None]]:
        """``ListModels`` page by page: the models of each page and the total Kaggle reports."""
        for page in self.client.pages(
            "ListModels", body, what="the model search", page_size=int(str(body.get("pageSize") or 50))
        ):
            items = page.get("models")
            models = [parse_model(m) for m in items if isinstance(m, dict)] if isinstance(items, list) else []
            total = page.get("totalResults")
            yield models, total if isinstance(total, int) else None

    def licences_seen(self, handle: Handle) -> dict[str, str]:
        """The licence observed for each version while it was current (``{"3": "Apache 2.0"}``)."""
        return self._licences_seen(handle.unversioned())

    # -- learning sha256s ------------------------------------------------------------------------

    def _file_body(self, handle: Handle, path: str | None) -> dict[str, object]:
        body: dict[str, object] = {**_instance_body(handle), "versionNumber": handle.version}
        if path:
            body["path"] = path
        return body

    def _require_store(self) -> Store:
        if self.store is None:
            raise RegistryError("this Kaggle registry has no store to learn file hashes into")
        return self.store

    def _learn_mounted(self, handle: Handle, files: Sequence[RemoteFile]) -> dict[str, FileEntry]:
        """The files of a Kaggle notebook's mount of this version, hashed and adopted by the store in place."""
        found: dict[str, FileEntry] = {}
        for remote in files:
            copy = local_copy(handle, remote.path, remote.size)
            if copy is not None and copy.mounted:
                label = f"{handle}/{remote.path}"
                sha = self._require_store().adopt_unhashed(copy.path, remote.size, label=label)
                found[remote.path] = FileEntry(remote.path, remote.size, sha)
        return found

    def _learn_per_file(
        self, handle: Handle, files: Sequence[RemoteFile], outer: threading.Event
    ) -> dict[str, FileEntry]:
        store = self._require_store()
        measure = self._transfers.measure(handle, self.client.download_source(self._file_body(handle, None)).url)

        def learn(remote: RemoteFile, cancel: threading.Event) -> FileEntry:
            learned: dict[str, str] = {}  # the reply's md5: no probe request; a known md5 stops before the body
            body = self._file_body(handle, remote.path)
            source, label = self.client.download_source(body), f"{handle}/{remote.path}"
            try:
                with self.slots.hold(cancel):
                    sha = fetch_unknown(
                        store,
                        source,
                        size=remote.size,
                        digests={},
                        label=label,
                        session=self.client.session(),
                        cancel=cancel,
                        learned=learned,
                        progress=meter,
                    )
            except (RegistryError, ModelNotFoundError):  # refused: ask the API again for its own words (gated, ...)
                page = web_url(handle.unversioned())
                self.client.redirect_location("DownloadModelInstanceVersion", body, what=label, page_url=page)
                raise
            return FileEntry(remote.path, remote.size, sha, digests={k: v for k, v in learned.items() if k == "md5"})

        with measure as meter:
            entries = map_interruptible(learn, files, workers=self.workers, name="kmenv-learn", parent=outer)
        return {e.path: e for e in entries}

    def _learn_from_archive(
        self, handle: Handle, files: Sequence[RemoteFile], cancel: threading.Event
    ) -> dict[str, FileEntry]:
        """Download the whole-version archive (verified by the fetch layer), unpack it into the store safely.

        Kaggle declares no archive size, so the download accepts at most what the version's files could take
        in one (:func:`~kmenv.registry.kaggle.archive.archive_cap`), not an endless body."""
        source = self.client.download_source(self._file_body(handle, None))
        with self._transfers.measure(handle, source.url, files=len(files)) as meter, self.slots.hold(cancel):
            return learn_from_archive(
                self._require_store(),
                source,
                self.client.session(),
                files,
                listed=self.list_files(handle),  # the archive holds every file of the version (cached: no request)
                label=str(handle),
                progress=meter,
                cancel=cancel,
            )

    # -- what this machine learned -----------------------------------------------------------------

    def learned_files(self, handle: Handle) -> dict[str, FileEntry]:
        """Path → entry (size, sha256, md5) of what this machine learned of a version's files; no request is made.

        Kaggle publishes no sha256: these come from earlier locks and downloads, through the metadata cache.
        """
        doc = self.client.cache.read_doc(f"files/{handle}")
        found: dict[str, FileEntry] = {}
        for item in doc.get("files", []) if isinstance(doc, dict) else []:
            try:
                found[item["path"]] = FileEntry(
                    item["path"], int(item["size"]), str(item["sha256"]), digests=dict(item.get("digests") or {})
                )
            except (KeyError, TypeError, ValueError):
                continue
        return found

    def _remember_files(self, handle: Handle, entries: Iterable[FileEntry]) -> None:
        files = [{"path": e.path, "size": e.size, "sha256": e.sha256, "digests": dict(e.digests)} for e in entries]
        self.client.cache.write_doc(f"files/{handle}", {"files": sorted(files, key=lambda f: str(f["path"]))})

    def _licences_seen(self, handle: Handle) -> dict[str, str]:
        doc = self.client.cache.read_doc(f"licences/{handle}")
        return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}

    def _remember_licence(self, handle: Handle, info: InstanceInfo) -> None:
        seen = self._licences_seen(handle)
        if seen.get(str(info.latest)) != (info.license or ""):
            seen[str(info.latest)] = info.license or ""
            self.client.cache.write_doc(f"licences/{handle}", seen)


def _versions_of(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    holder = page.get("versionList")
    items = holder.get("versions") if isinstance(holder, dict) else page.get("versions")
    return [v for v in items if isinstance(v, dict)] if isinstance(items, list) else []
