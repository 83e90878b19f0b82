"""A read-only store shared by many machines (``KMENV_SHARED_CACHE``, an NFS mount a CI job fills).

It has the personal store's layout (``blobs/sha256/<aa>/<digest>``). Before an install downloads anything, blobs
the personal store lacks are copied from it into the personal store through the ordinary verified ingest, so each
one is hashed again on the way: a shared folder is trusted for nothing but saving a download. A blob there that
fails the check is left alone (never repaired or deleted: nothing here writes to the shared folder) and the
registry is asked for it as usual. Copying rather than hard-linking keeps the personal store's blobs independent of
a folder someone else may rewrite or unmount.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from kmenv.errors import IntegrityError, StorageError
from kmenv.store.blobstore import Store
from kmenv.store.digests import is_sha256
from kmenv.store.writer import CHUNK_SIZE, BlobWriter
from kmenv.values.candidates import FileEntry

__all__ = ["copy_blob", "fill_from_shared", "shared_blob"]

Warn = Callable[[str], None]


def shared_blob(shared_root: Path, sha256: str, size: int) -> Path | None:
    """The shared store's file for this blob when it is there with the right size (its bytes not yet checked)."""
    if not is_sha256(sha256):
        return None
    path = Path(shared_root) / "blobs" / "sha256" / sha256[:2] / sha256
    try:
        return path if path.is_file() and path.stat().st_size == size else None
    except OSError:  # an NFS mount that went away while we looked
        return None


def copy_blob(target: Store, source: Path, sha256: str, size: int, *, label: str) -> bool:
    """Copy ``source`` into ``target`` as blob ``sha256``, hashed on the way; False when ``target`` had it.

    Raises :class:`~kmenv.errors.IntegrityError` when the bytes are not what their name says (nothing published).
    """

    def produce(writer: BlobWriter) -> None:
        with open(source, "rb") as src:
            src.seek(writer.offset)  # a partial the store kept from an earlier attempt: hashed again already
            while chunk := src.read(CHUNK_SIZE):
                writer.write(chunk)

    return target.ingest(FileEntry(path=label, size=size, sha256=sha256), produce, label=label)


def fill_from_shared(
    store: Store,
    shared_root: Path | None,
    wanted: Iterable[tuple[str, int]],
    *,
    warn: Warn | None = None,
) -> tuple[int, int]:
    """Copy into ``store`` each wanted ``(sha256, size)`` it lacks that ``shared_root`` holds; (files, bytes) copied.

    No shared store (None), or one whose folder is missing, copies nothing (the latter with a warning: a mount that
    is down should slow an install, not fail it). A blob whose bytes fail the check is skipped with a warning, and
    the caller downloads it as if the shared store lacked it; the shared folder is only ever read.
    """
    if shared_root is None:
        return 0, 0
    if not Path(shared_root).is_dir():
        if warn is not None:
            warn(f"KMENV_SHARED_CACHE={shared_root} is not a folder (not mounted?); downloading without it")
        return 0, 0
    files = copied = 0
    seen: set[str] = set()
    for sha256, size in wanted:
        if sha256 in seen:
            continue
        seen.add(sha256)
        if store.intact(sha256, size):
            continue
        source = shared_blob(shared_root, sha256, size)
        if source is None:
            continue
        try:
            if copy_blob(store, source, sha256, size, label=f"shared {sha256[:12]}"):
                files, copied = files + 1, copied + size
        except IntegrityError:
            if warn is not None:
                warn(f"shared cache blob {source} does not hash to its name; fetching it from the registry")
        except StorageError:
            raise  # the personal store refused the bytes (full disk): downloading would fail the same way
        except OSError as exc:
            if warn is not None:
                warn(f"cannot read shared cache blob {source}: {exc.strerror or exc}; fetching it from the registry")
    return files, copied
