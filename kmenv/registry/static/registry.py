"""A static registry: ``index.json`` plus one JSON document per model instance, read from a folder or a URL.

Every document may cost a network round trip, so reading is lazy: the constructor does no I/O, the
index is read on first use and an instance's document only when that instance is asked about; both
are then kept for the life of the object. Any static HTTP server or object store can serve one;
``file://`` URLs and plain paths read the disk directly. ``kmenv registry build`` writes them.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urljoin

import requests

from kmenv.config import registry_token_variable
from kmenv.errors import ModelNotFoundError, RegistryDocumentError, RegistryError
from kmenv.fetch.retry import SERVER_ERRORS, RetryPolicy
from kmenv.fetch.source import FileSource
from kmenv.registry.base import Registry
from kmenv.registry.static.credentials import Login
from kmenv.registry.static.discovery import StaticDiscovery
from kmenv.registry.static.documents import InstanceDocument, VersionRecord, parse_index, parse_instance
from kmenv.registry.static.location import INDEX, locate
from kmenv.registry.static.reading import DOCUMENT_DEADLINE, HINT_URL, DocumentReader, scheme, shown
from kmenv.values.candidates import BaseModelRef, Candidate, FileEntry
from kmenv.values.handles import Handle
from kmenv.values.target import FRAMEWORK_LIBRARIES, framework_requirements

__all__ = ["DOCUMENT_DEADLINE", "STATIC_RETRY", "StaticRegistry"]

_HTTP = ("http", "https")
#: Three retries after the first try, waiting 0.25, 0.5 and 1 s; 408, 429 and every 5xx are retried
#: (the server is overloaded or briefly broken, not saying "no").
STATIC_RETRY = RetryPolicy(attempts=4, backoff=0.25, statuses=frozenset({408, 429}) | SERVER_ERRORS)
_HINT_REBUILD = "the registry is incomplete; rebuild it with `kmenv registry build` and publish the whole folder"


@dataclass(frozen=True)
class _Listed:
    """An instance the index lists, and where its document is."""

    handle: Handle
    document_url: str
    latest: int


class StaticRegistry(StaticDiscovery, Registry):
    """A registry read from a static index (implements :class:`kmenv.registry.base.Registry`).

    ``location`` is a folder path (relative to ``base_dir``, the folder of kmodels.yaml), a
    ``file://`` URL or an ``http(s)://`` URL; naming ``index.json`` itself works too. ``token``, else
    credentials in an HTTP URL's user part, else ``~/.netrc``, go to that host only
    (:mod:`~kmenv.registry.static.credentials`) and never appear in a URL this object returns or an
    error message. HTTP reads retry ``retries`` times on connection
    errors and 5xx answers, waiting ``backoff`` × 1, 2, 4, … seconds between tries (:data:`STATIC_RETRY`).
    ``frameworks`` is the run's framework → library table (:mod:`kmenv.registry.frameworks`), merged
    into each version's own requirements. Each read waits at most ``timeout`` seconds, and one document's
    tries together at most ``deadline``; every document is read within its bounds (size, depth, numbers,
    duplicate keys).
    """

    def __init__(
        self,
        name: str,
        location: str,
        *,
        base_dir: Path | None = None,
        session: requests.Session | None = None,
        timeout: float = 30,
        deadline: float = DOCUMENT_DEADLINE,
        retries: int = STATIC_RETRY.retries,
        frameworks: Mapping[str, Mapping[str, str]] = FRAMEWORK_LIBRARIES,
        backoff: float = STATIC_RETRY.backoff,
        token: str | None = None,
    ) -> None:
        self.name = name
        self._root, basic = locate(name, location, base_dir)
        self._login = Login(self._root, token, basic)
        self._reader = DocumentReader(
            name,
            auth=self._login.auth,
            session=session,
            timeout=timeout,
            deadline=deadline,
            retry=STATIC_RETRY.with_retries(retries, backoff=backoff),
            refused_hint=f"the server refused access; set {registry_token_variable(name)} or a ~/.netrc entry",
        )
        self._lock = threading.RLock()
        self._index: dict[Handle, _Listed] | None = None
        self._documents: dict[Handle, tuple[Candidate, ...]] = {}
        self._parsed: dict[Handle, InstanceDocument] = {}
        self.frameworks = frameworks

    @property
    def url(self) -> str:
        """The absolute URL of ``index.json`` (``file://`` for folders), without credentials."""
        return self._root + INDEX

    def __repr__(self) -> str:
        return f"StaticRegistry({self.name!r}, {self.url!r})"

    # -- the Registry protocol -------------------------------------------------------------

    def instances(self, owner: str, model: str) -> Sequence[Handle]:
        """Every instance of ``owner/model``, sorted; ``ModelNotFoundError`` when there is none."""
        found = [h for h in self._listing() if h.owner == owner and h.model == model]
        if not found:
            models = sorted({f"{h.owner}/{h.model}" for h in self._listing()})
            raise ModelNotFoundError(
                f"registry {self.name!r} has no model {owner}/{model}",
                hint=self._suggest(f"{owner}/{model}", models),
            )
        return found

    def versions(self, instance: Handle) -> Sequence[Candidate]:
        """Every version of ``instance``, newest first, with its files."""
        return self._candidates(instance.unversioned())

    def files(self, candidate: Candidate) -> Sequence[FileEntry]:
        """The files of ``candidate`` as the registry lists them now, sorted by path."""
        return self._find(candidate).files

    def source(self, candidate: Candidate, file: FileEntry) -> FileSource:
        """Where ``file`` lives; free for entries this registry produced, one cached read otherwise."""
        url = file.url
        if url is None or not url.startswith(self._root):
            # An entry from a lock made elsewhere: its URL may point into someone else's folder.
            matches = [f for f in self._find(candidate).files if f.path == file.path]
            if not matches:
                raise ModelNotFoundError(
                    f"registry {self.name!r}: {candidate} has no file {file.path!r}",
                    hint="the registry changed since the lock was written; run `kmenv lock` again",
                )
            url = matches[0].url
            assert url is not None, "this registry always sets a file's url"
        return FileSource(url=url, headers=self._login.headers(url))

    # -- discovery -------------------------------------------------------------------------

    def list_all(self) -> Sequence[Handle]:
        """Every instance the registry holds, sorted (reads only ``index.json``)."""
        return tuple(self._listing())

    def document(self, instance: Handle) -> InstanceDocument:
        """The parsed document of one instance (read once, on first use, like :meth:`versions`)."""
        key = instance.unversioned()
        self._candidates(key)
        return self._parsed[key]

    def close(self) -> None:
        """Release the HTTP connections this object opened (a session passed in stays open)."""
        self._reader.close()

    def __enter__(self) -> StaticRegistry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- documents -------------------------------------------------------------------------

    def _listing(self) -> dict[Handle, _Listed]:
        with self._lock:
            if self._index is None:
                url = self.url
                data = self._reader.read_json(
                    url,
                    lambda: RegistryError(f"registry {self.name!r}: no index.json at {shown(url)}", hint=HINT_URL),
                )
                index = parse_index(data, shown(url))
                listed = {}
                for entry in index.instances:
                    handle = Handle.parse(entry.handle)
                    listed[handle] = _Listed(handle, urljoin(url, entry.document), entry.latest)
                self._index = dict(sorted(listed.items()))
            return self._index

    def _candidates(self, key: Handle) -> tuple[Candidate, ...]:
        with self._lock:
            cached = self._documents.get(key)
            if cached is not None:
                return cached
            listed = self._listing().get(key)
            if listed is None:
                raise ModelNotFoundError(
                    f"registry {self.name!r} has no model {key}",
                    hint=self._suggest(str(key), [str(h) for h in self._listing()]),
                )
            url = listed.document_url
            data = self._reader.read_json(
                url,
                lambda: RegistryError(
                    f"registry {self.name!r}: the index lists {key} but its document {shown(url)} is missing",
                    hint=_HINT_REBUILD,
                ),
            )
            document = parse_instance(data, shown(url))
            if document.handle != str(key):
                raise RegistryDocumentError(
                    f"{shown(url)}: $.handle: the document describes {document.handle}, the index says {key}",
                    hint=_HINT_REBUILD,
                )
            newest_first = sorted(document.versions, key=lambda v: v.version, reverse=True)
            candidates = tuple(self._candidate(key, document, v, url) for v in newest_first)
            self._documents[key] = candidates
            self._parsed[key] = document
            return candidates

    def _candidate(self, key: Handle, document: InstanceDocument, version: VersionRecord, url: str) -> Candidate:
        assert key.framework is not None, "index handles are always full"
        files = tuple(
            FileEntry(f.path, f.size, f.sha256, url=self._file_url(url, f.url))
            for f in sorted(version.files, key=lambda f: f.path)
        )
        base = None
        if version.base is not None:
            base = BaseModelRef(Handle.parse(version.base.handle), version.base.versions, registry=self.name)
        return Candidate(
            handle=key.with_version(version.version),
            registry=self.name,
            license=version.license,
            requires=framework_requirements(key.framework, version.requires, self.frameworks),
            base=base,
            files=files,
            title=document.title,
            published=version.published,
        )

    def _file_url(self, document_url: str, url: str) -> str:
        absolute = urljoin(document_url, url)
        if scheme(self._root) in _HTTP and scheme(absolute) not in _HTTP:
            raise RegistryDocumentError(
                f"{shown(document_url)}: file url {url!r} points to the local disk from a registry served over HTTP",
                hint="a registry on a web server may only point to http(s) URLs; rebuild it",
            )
        return absolute

    def _find(self, candidate: Candidate) -> Candidate:
        known = self._candidates(candidate.handle.unversioned())
        for found in known:
            if found.version == candidate.version:
                return found
        shown = ", ".join(str(c.version) for c in known)
        raise ModelNotFoundError(
            f"registry {self.name!r} has no version {candidate.version} of {candidate.handle.unversioned()}",
            hint=f"its versions are {shown}",
        )

    def _suggest(self, wanted: str, known: list[str]) -> str:
        by_folded = {k.lower(): k for k in known}
        close = difflib.get_close_matches(wanted.lower(), list(by_folded), n=3, cutoff=0.6)
        if close:
            return "did you mean " + " or ".join(by_folded[c] for c in close) + "?"
        return f"registry {self.name!r} holds {len(known)} of them; `kmenv search` lists them"

    # -- reading ---------------------------------------------------------------------------
