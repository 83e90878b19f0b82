"""The files of a version's tar layers: each layer fetched (verified by its digest), then unpacked into the store.

A tar layer's digest proves the archive, not the files in it, so their sha256s are known only once the
layer is here: asking for the files of a version with tar layers downloads those layers, through the
fetch pipeline like any file (resumable, verified against the digest before it becomes a blob). The
layer blob stays in the store, so a later run unpacks it again without a download (until ``kmenv gc``
takes it: no lock names it). Members meet the store's archive rules (:mod:`kmenv.store.archives`: no
links, no escaping names, bounded, no permissions carried over), and each must lie at or under the
path its layer's ``org.cncf.model.filepath`` annotation names, when it names one. Each member becomes
its own blob, so the lock records every file with its own sha256, exactly as for raw layers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from kmenv.fetch import FetchJob, fetch_all
from kmenv.fetch.source import FileSource
from kmenv.registry.oci.modelpack import ArchiveLayer, check_unique_paths
from kmenv.store.archives import Rules, unpack_tar
from kmenv.store.blobstore import Store
from kmenv.values.candidates import FileEntry

__all__ = ["learn_archives"]

_BROKEN = "the layer's bytes are not what its media type says; push the model again, or tell its publisher"
_HINT = "the layer is unsafe to unpack; push the model again (raw layers are safest), or tell its publisher"


def learn_archives(
    store: Store,
    layers: Sequence[ArchiveLayer],
    source_of: Callable[[ArchiveLayer], FileSource],
    *,
    raw: Sequence[FileEntry],
    where: str,
) -> tuple[FileEntry, ...]:
    """Every file of a version: the raw layers' ``raw`` and the members of its tar ``layers``, sorted by path.

    ``source_of`` says where a layer's blob is; ``where`` names the version (``host/repo:tag``) in errors.
    """
    jobs = [
        FetchJob(source_of(layer), FileEntry(f"layer-{layer.number}", layer.size, layer.sha256), _label(where, layer))
        for layer in layers
    ]
    fetch_all(store, jobs)
    files = list(raw)
    for layer in layers:
        label = _label(where, layer)
        # a plain tar holds no more than its own bytes; a compressed one is bounded by the disk check
        rules = Rules(
            max_bytes=layer.size if layer.compression == "" else None, under=layer.path, hint=_HINT, broken_hint=_BROKEN
        )
        blob = store.blob_path(layer.sha256)
        members = unpack_tar(store, blob, label=label, rules=rules, compression=layer.compression)
        files.extend(replace(f, digests={}) for f in members.values())  # sha256 only, as for raw layers
    ordered = tuple(sorted(files, key=lambda f: f.path))
    check_unique_paths(ordered, where)
    return ordered


def _label(where: str, layer: ArchiveLayer) -> str:
    return f"{where} layer {layer.number} ({layer.media_type.rsplit('.', 2)[-1]})"
