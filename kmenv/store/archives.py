"""Archives unpacked into the store: every member is checked before any becomes a blob, each member its own blob.

The one home of the rules an archive from a registry must meet, whoever serves it (Kaggle's
whole-version archives, ModelPack's tar layers): only regular files and folders (no links, devices
or fifos: a link could point anywhere), only names that stay inside the model's folder, each name
once, a bounded number of members and bytes, and room on the disk for them. Modes, owners and
times in the archive are ignored: a member becomes a blob with the store's own read-only
permissions, so no set-uid or writable bit comes along. Each member is hashed on the way in
(sha256 for its blob, md5 for the digest index), so its bytes are read once.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

from kmenv.errors import IntegrityError
from kmenv.store._diskspace import check_free_space
from kmenv.store.blobstore import CHUNK_SIZE, BlobWriter, Store
from kmenv.values.candidates import FileEntry
from kmenv.values.paths import relative_path_problem

__all__ = ["MAX_MEMBERS", "Rules", "unpack_tar", "unpack_zip"]

#: The most members (files and folders) one archive may hold.
MAX_MEMBERS = 100_000
_REFUSED_HINT = "the archive is unsafe to unpack; report it to the model's owner"


@dataclass(frozen=True)
class Rules:
    """What one archive may hold beyond the rules every archive meets.

    ``listed``: name → size of the members wanted, each of which must have that size (others are skipped);
    None takes every member. ``listed_by`` names who listed them, for the message. ``max_bytes``: the
    most bytes all wanted members may hold together (a compressed archive could expand without end).
    ``under``: the path every member must be or lie under (what a ModelPack layer says it holds), if any.
    ``hint``: what the user can do about a refused archive; ``broken_hint`` about one that is not an archive.
    """

    listed: Mapping[str, int] | None = None
    listed_by: str = "the registry"
    max_bytes: int | None = None
    under: str | None = None
    hint: str = _REFUSED_HINT
    broken_hint: str = "try again later"


def _refuse(label: str, name: str, why: str, rules: Rules) -> IntegrityError:
    return IntegrityError(f"the archive of {label} holds {name[:200]!r}, which {why}; nothing from it was used",
                          hint=rules.hint)  # fmt: skip


def _member_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _check(members: list[tuple[str, int, bool]], label: str, rules: Rules) -> dict[str, int]:
    """The wanted members (name → size) of an archive whose entries are ``(raw name, size, is a regular file)``.

    Folders must be weeded out by the caller; anything else that is not a regular file is refused here.
    """
    if len(members) > MAX_MEMBERS:
        raise _refuse(label, members[MAX_MEMBERS][0], f"is past the {MAX_MEMBERS} members an archive may hold", rules)
    wanted: dict[str, int] = {}
    for raw, size, regular in members:
        name = _member_name(raw)
        if not regular:
            raise _refuse(label, raw, "is a link or special file", rules)
        problem = relative_path_problem(name)
        if problem is not None:
            raise _refuse(label, raw, f"would land outside the model's folder ({problem})", rules)
        if rules.under is not None and name != rules.under and not name.startswith(rules.under + "/"):
            raise _refuse(label, raw, f"lies outside {rules.under!r}, the path its archive says it holds", rules)
        if rules.listed is not None:
            if name in rules.listed and size != rules.listed[name]:
                raise _refuse(label, raw, f"has {size} bytes where {rules.listed_by} lists {rules.listed[name]}", rules)
            if name not in rules.listed:
                continue
        if name in wanted:
            raise _refuse(label, raw, "appears twice", rules)
        wanted[name] = size
    total = sum(wanted.values())
    if rules.max_bytes is not None and total > rules.max_bytes:
        raise IntegrityError(
            f"the archive of {label} unpacks to {total} bytes, more than the {rules.max_bytes} allowed; "
            "nothing from it was used",
            hint=rules.hint,
        )
    return wanted


def _ingest(store: Store, name: str, size: int, opener: Callable[[], IO[bytes]], label: str) -> FileEntry:
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


def unpack_tar(
    store: Store, archive: Path, *, label: str, rules: Rules, compression: str = "*"
) -> dict[str, FileEntry]:
    """The wanted members of a tar archive, each ingested into ``store`` (name → entry).

    ``compression`` is tarfile's: ``""`` (none), ``gz``, or ``*`` (whatever the bytes say). Every
    member is checked (:class:`Rules`, the module's rules) before the first is stored; a broken
    archive raises :class:`~kmenv.errors.IntegrityError` naming ``label``.
    """
    try:
        with _open_tar(archive, compression) as tar:
            infos: list[tarfile.TarInfo] = []
            for count, member in enumerate(tar, 1):  # not getmembers(): the count is bounded before all are read
                if count > MAX_MEMBERS:
                    raise _refuse(label, member.name, f"is past the {MAX_MEMBERS} members an archive may hold", rules)
                if not member.isdir():
                    infos.append(member)
            wanted = _check([(m.name, m.size, m.isreg()) for m in infos], label, rules)
            check_free_space(store.root, sum(wanted.values()))
            learned: dict[str, FileEntry] = {}
            for m in infos:
                name = _member_name(m.name)
                if name in wanted and name not in learned:

                    def opener(member: tarfile.TarInfo = m) -> IO[bytes]:
                        handle = tar.extractfile(member)
                        assert handle is not None, "regular members always have data"
                        return handle

                    learned[name] = _ingest(store, name, m.size, opener, label)
            return learned
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:  # truncated or corrupt bytes
        kind = {"": "tar", "gz": "gzip-compressed tar"}.get(compression, "tar or zip")
        raise IntegrityError(
            f"the archive of {label} is not a valid {kind} ({str(exc)[:200]})", hint=rules.broken_hint
        ) from None


def _open_tar(archive: Path, compression: str) -> tarfile.TarFile:
    if compression == "":
        return tarfile.open(archive, "r:")
    if compression == "gz":
        return tarfile.open(archive, "r:gz")
    return tarfile.open(archive, "r:*")


def unpack_zip(store: Store, archive: Path, *, label: str, rules: Rules) -> dict[str, FileEntry]:
    """Like :func:`unpack_tar` for a zip archive (a member's Unix mode tells links from files)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [info for info in zf.infolist() if not info.is_dir()]
            regular = [((info.external_attr >> 16) & 0o170000) in (0, 0o100000) for info in infos]
            wanted = _check([(i.filename, i.file_size, r) for i, r in zip(infos, regular, strict=True)], label, rules)
            check_free_space(store.root, sum(wanted.values()))
            learned: dict[str, FileEntry] = {}
            for info in infos:
                name = _member_name(info.filename)
                if name in wanted and name not in learned:
                    learned[name] = _ingest(store, name, info.file_size, partial(zf.open, info), label)
            return learned
    except zipfile.BadZipFile as exc:
        raise IntegrityError(f"the archive of {label} is not a valid zip ({exc})", hint=rules.broken_hint) from None
