"""Unpacking a Kaggle whole-version archive into the store, member by member, refusing anything unsafe.

Kaggle serves a version with many files as one tar (any compression) or zip. Its members become
blobs only after every member has been checked: links, devices and names that would leave the
version folder are refused before anything is stored, and a member whose size disagrees with
Kaggle's file list is refused too. Each member is hashed on the way in (sha256 for its blob, md5 for
the digest index), so the bytes are read once.
"""

from __future__ import annotations

import base64
import hashlib
import tarfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import IO

from kmenv.errors import IntegrityError
from kmenv.registry.kaggle.mapping import RemoteFile
from kmenv.store.blobstore import CHUNK_SIZE, BlobWriter, Store
from kmenv.values.candidates import FileEntry
from kmenv.values.paths import is_relative_path

__all__ = ["archive_cap", "unpack_into_store"]

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


def _member_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


def unpack_into_store(
    store: Store, archive: Path, wanted: Mapping[str, RemoteFile], *, label: str
) -> dict[str, FileEntry]:
    """Every wanted member of a tar (any compression) or zip archive, ingested into ``store``.

    The format is detected from the bytes, not a name. Links, devices and names that would leave
    the version folder are refused (``IntegrityError``) before anything is stored; members the
    file list does not name are skipped; a member whose size disagrees with the listing is refused.
    """
    with archive.open("rb") as fh:
        magic = fh.read(4)
    if magic.startswith(b"PK"):
        return _unpack_zip(store, archive, wanted, label)
    return _unpack_tar(store, archive, wanted, label)


def _refuse(label: str, name: str, why: str) -> IntegrityError:
    return IntegrityError(
        f"the archive of {label} holds {name!r}, which {why}; nothing from it was used",
        hint="the archive is unsafe to unpack; report it to the model's owner",
    )


def _ingest_member(store: Store, name: str, size: int, opener: Callable[[], IO[bytes]], label: str) -> FileEntry:
    md5_box: list[str] = []

    def produce(writer: BlobWriter) -> None:
        writer.restart()
        md5 = hashlib.md5(usedforsecurity=False)
        with opener() as member:
            while chunk := member.read(CHUNK_SIZE):
                writer.write(chunk)
                md5.update(chunk)
        md5_box[:] = [base64.b64encode(md5.digest()).decode("ascii")]

    sha = store.ingest_unknown(
        produce, size=size, digests={}, label=f"{label}/{name}", resume_key=f"archive-member:{label}/{name}:{size}"
    )
    digests: dict[str, str] = {}
    if md5_box:
        digests["md5"] = md5_box[0]
        store.record_digest("md5", md5_box[0], sha)
    return FileEntry(name, size, sha, digests=digests)


def _unpack_tar(store: Store, archive: Path, wanted: Mapping[str, RemoteFile], label: str) -> dict[str, FileEntry]:
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                name = _member_name(m.name)
                if m.isdir():
                    continue
                if not m.isreg():
                    raise _refuse(label, m.name, "is a link or special file")
                if not is_relative_path(name):
                    raise _refuse(label, m.name, "would land outside the model's folder")
                if name in wanted and m.size != wanted[name].size:
                    raise _refuse(label, m.name, f"has {m.size} bytes where Kaggle lists {wanted[name].size}")
            learned: dict[str, FileEntry] = {}
            for m in members:
                name = _member_name(m.name)
                if m.isreg() and name in wanted:

                    def opener(member: tarfile.TarInfo = m) -> IO[bytes]:
                        handle = tar.extractfile(member)
                        assert handle is not None, "regular members always have data"
                        return handle

                    learned[name] = _ingest_member(store, name, m.size, opener, label)
            return learned
    except tarfile.TarError as exc:
        raise IntegrityError(
            f"the archive of {label} is neither a valid tar nor zip ({exc})", hint="try again later"
        ) from None


def _unpack_zip(store: Store, archive: Path, wanted: Mapping[str, RemoteFile], label: str) -> dict[str, FileEntry]:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                mode = (info.external_attr >> 16) & 0o170000
                if info.is_dir():
                    continue
                if mode and mode != 0o100000:
                    raise _refuse(label, info.filename, "is a link or special file")
                name = _member_name(info.filename)
                if not is_relative_path(name):
                    raise _refuse(label, info.filename, "would land outside the model's folder")
                if name in wanted and info.file_size != wanted[name].size:
                    raise _refuse(
                        label, info.filename, f"has {info.file_size} bytes where Kaggle lists {wanted[name].size}"
                    )
            learned: dict[str, FileEntry] = {}
            for info in infos:
                name = _member_name(info.filename)
                if not info.is_dir() and name in wanted:
                    learned[name] = _ingest_member(store, name, info.file_size, partial(zf.open, info), label)
            return learned
    except zipfile.BadZipFile as exc:
        raise IntegrityError(f"the archive of {label} is not a valid zip ({exc})", hint="try again later") from None
