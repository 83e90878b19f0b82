"""Learning many files of a Kaggle version at once: one file at a time or one whole-version archive, by bytes.

An upgrade of a version with many files usually changes few of them. :func:`choose_fetch` finds the files whose
bytes the store already holds (a file of the same path and size in an earlier version this machine learned, whose
md5 ``x-goog-hash`` the store's digest index knows) and weighs what is left to download file by file against the
archive, which always holds the whole version: the archive is taken only when it moves fewer bytes (counting each
file's requests as :data:`REQUEST_BYTES`). Without an earlier version there is nothing to reuse, and the archive
saves a request per file.

Kaggle serves a version with many files as one tar (any compression) or zip. Its members become
blobs only after every member has been checked by the rules of :mod:`kmenv.store.archives` (no
links, devices or names leaving the version folder), and a member whose size disagrees with
Kaggle's file list is refused too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from kmenv.errors import IntegrityError
from kmenv.fetch.progress import ProgressSink
from kmenv.fetch.source import FileSource
from kmenv.fetch.unhashed import fetch_unknown
from kmenv.registry.kaggle.mapping import RemoteFile
from kmenv.store.archives import Rules, unpack_tar, unpack_zip
from kmenv.store.blobstore import Store
from kmenv.values.candidates import FileEntry
from kmenv.values.wording import counted

__all__ = [
    "REQUEST_BYTES",
    "FetchChoice",
    "archive_cap",
    "choose_fetch",
    "earlier_sizes",
    "learn_from_archive",
    "unpack_into_store",
]

#: What an archive may add to its members' bytes: a tar's header (with a long-name record) per member, and a
#: margin for the end records, compression framing and a zip's directory.
_PER_MEMBER = 4096
_MARGIN = 1024 * 1024


def archive_cap(files: Sequence[RemoteFile]) -> int:
    """The most bytes a version's archive may take, from the sizes its file list declares.

    Compression only shrinks what it can; an archive past this holds more than the listing, and an endless
    body is refused here instead of filling the store.
    """
    total = sum(f.size for f in files)
    return total + total // 64 + _PER_MEMBER * len(files) + _MARGIN


#: What one file's own requests (the API call and its redirect) cost, in bytes of transfer they are
#: worth on a typical link: enough that hundreds of tiny files still come as one archive.
REQUEST_BYTES = 64 * 1024
#: How many earlier versions :func:`earlier_sizes` looks at for files that may be unchanged.
LOOK_BACK = 5


@dataclass(frozen=True)
class FetchChoice:
    """How to learn a version's unknown files: ``fetch`` them, as one whole-version archive when ``archive``."""

    fetch: list[RemoteFile]
    archive: bool


def earlier_sizes(version: int | None, learned: Callable[[int], Mapping[str, FileEntry]]) -> dict[str, int]:
    """Path → size of the newest earlier version (of the :data:`LOOK_BACK` before ``version``) this machine learned."""
    for earlier in range((version or 1) - 1, max((version or 1) - 1 - LOOK_BACK, 0), -1):
        files = learned(earlier)
        if files:
            return {path: entry.size for path, entry in files.items()}
    return {}


def choose_fetch(unknown: Sequence[RemoteFile], *, version_bytes: int, earlier: Mapping[str, int]) -> FetchChoice:
    """Whether ``unknown`` comes file by file or as the whole-version archive, whichever moves fewer bytes.

    ``earlier``: path → size in an earlier version (:func:`earlier_sizes`). A file of the same path and size is
    likely unchanged, and a download whose reply names an md5 the store holds stops at the headers (see
    :func:`kmenv.fetch.fetch_unknown`), so it costs its requests only; every other file costs its bytes too.
    ``version_bytes`` is the size of every file of the version: what the archive downloads. With nothing
    learned of an earlier version, the archive it is.
    """
    if not earlier:
        return FetchChoice(list(unknown), True)
    one_by_one = sum(REQUEST_BYTES + (0 if earlier.get(f.path) == f.size else f.size) for f in unknown)
    return FetchChoice(list(unknown), version_bytes + REQUEST_BYTES < one_by_one)


def learn_from_archive(
    store: Store,
    source: FileSource,
    session: requests.Session,
    files: Sequence[RemoteFile],
    *,
    listed: Sequence[RemoteFile],
    label: str,
    progress: ProgressSink | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, FileEntry]:
    """Download the whole-version archive from ``source`` (verified by the fetch layer) and unpack ``files`` of it
        into ``store``; every one of them must be there. ``listed``: every file of the version, which the archive
        holds and which caps its size (:func:`archive_cap`), so an endless body is refused. ``progress`` hears the
    download's bytes (the usage ledger counts them)."""
    archive_sha = fetch_unknown(
        store,
        source,
        size=None,
        digests={},
        label=f"{label} (archive)",
        session=session,
        limit=archive_cap(listed),
        progress=progress,
        cancel=cancel,
    )
    wanted = {f.path: f for f in files}
    learned = unpack_into_store(store, store.blob_path(archive_sha), wanted, label=label)
    missing = sorted(set(wanted) - set(learned))
    if missing:
        raise IntegrityError(
            f"the archive of {label} lacks {counted(len(missing), 'listed file')}, e.g. {missing[0]}",
            hint="Kaggle's archive and file list disagree; try again later",
        )
    return learned


def unpack_into_store(
    store: Store, archive: Path, wanted: Mapping[str, RemoteFile], *, label: str
) -> dict[str, FileEntry]:
    """Every wanted member of a tar (any compression) or zip archive, ingested into ``store``.

    The format is detected from the bytes, not a name. The rules every archive meets (no links or
    devices, no name leaving the version folder) are :mod:`kmenv.store.archives`'; members the file
    list does not name are skipped, and a member whose size disagrees with the listing is refused.
    """
    with archive.open("rb") as fh:
        magic = fh.read(4)
    rules = Rules(listed={path: f.size for path, f in wanted.items()}, listed_by="Kaggle")
    if magic.startswith(b"PK"):
        return unpack_zip(store, archive, label=label, rules=rules)
    return unpack_tar(store, archive, label=label, rules=rules)
