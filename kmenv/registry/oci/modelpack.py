"""The CNCF ModelPack artifact as kmenv writes and reads it: a manifest, a config, one raw layer per file. No I/O.

The manifest is an OCI image manifest whose ``artifactType`` says "model"; the config follows the
model-spec schema (which allows no extra keys), so kmenv's own metadata rides in manifest annotations
under ``org.kmenv.`` that other tools carry along and ignore. Parsing takes decoded JSON and raises
:class:`~kmenv.errors.RegistryDocumentError` naming the artifact and the fix.

kmenv writes raw layers only (a raw layer's digest is its file's sha256), but reads the tar layers
other tools push too (modctl does by default): plain ``.tar`` and ``.tar+gzip``. Their files are
known only once the layer is unpacked (:mod:`kmenv.registry.oci.layers`); parsing just names them.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kmenv.errors import RegistryDocumentError
from kmenv.registry.static.documents import check_requires
from kmenv.values.candidates import FileEntry
from kmenv.values.paths import relative_path_problem
from kmenv.values.times import utc_timestamp

__all__ = [
    "CONFIG_TYPE",
    "FILEPATH",
    "MANIFEST_TYPE",
    "MODEL_ARTIFACT",
    "Annotations",
    "ArchiveLayer",
    "ParsedManifest",
    "PublishedFile",
    "VersionMetadata",
    "build_config",
    "build_manifest",
    "check_unique_paths",
    "config_metadata",
    "layer_type",
    "parse_manifest",
    "utc_timestamp",
]

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
MODEL_ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
CONFIG_TYPE = "application/vnd.cncf.model.config.v1+json"
FILEPATH = "org.cncf.model.filepath"
_LAYER_PREFIX = "application/vnd.cncf.model."
_SHA256_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
_MAX_LAYERS = 100_000


class Annotations:
    """The manifest annotation keys kmenv writes (and reads back) beside the standard ones."""

    HANDLE = "org.kmenv.handle"
    FRAMEWORK = "org.kmenv.framework"
    LICENSE = "org.kmenv.license"
    REQUIRES = "org.kmenv.requires"
    BASE = "org.kmenv.base"
    PUBLISHED = "org.kmenv.published"
    SOURCE = "org.kmenv.source"
    CREATED = "org.opencontainers.image.created"
    TITLE = "org.opencontainers.image.title"
    VERSION = "org.opencontainers.image.version"


@dataclass(frozen=True)
class PublishedFile:
    """One file of a version: its path inside the model folder, size and sha256 (the layer's digest)."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class VersionMetadata:
    """What a version says about itself, as kmenv reads and writes it.

    ``license`` is the licence as published (Kaggle's display string); ``licenses`` the SPDX
    list ModelPack's config carries (foreign artifacts have only that). ``requires`` maps a
    library to a PEP 440 specifier; ``base`` is ``(handle, versions)``; ``published`` is ISO-8601
    UTC ending in ``Z``; ``source`` names where the version came from (``kaggle:owner/model/…/3``).
    """

    handle: str | None = None
    framework: str | None = None
    license: str | None = None
    licenses: tuple[str, ...] = ()
    requires: Mapping[str, str] = field(default_factory=dict)
    base: tuple[str, str] | None = None
    published: str | None = None
    title: str | None = None
    source: str | None = None
    family: str | None = None


@dataclass(frozen=True)
class ArchiveLayer:
    """A tar layer: its blob, its media type, its compression and where its annotation says its files go.

    ``sha256``/``size``: the layer blob's digest and size (what the download is verified against).
    ``compression``: tarfile's name for it (``""`` none, ``gz`` gzip). ``path``: the file or folder the
    ``org.cncf.model.filepath`` annotation names (None: unsaid, or the whole model folder); every
    member must be it or lie under it. ``number``: the layer's place in the manifest, from 1.
    """

    sha256: str
    size: int
    media_type: str
    compression: str
    path: str | None
    number: int


@dataclass(frozen=True)
class ParsedManifest:
    """A validated ModelPack manifest: its config descriptor, its files and what its annotations say.

    ``files`` are the raw layers' files; ``archives`` the tar layers, whose files are learned by
    unpacking them. ``complete`` is False when kmenv's annotations are absent (an artifact another
    tool pushed), so the config is worth reading for the licence and the date.
    """

    config_digest: str
    config_size: int
    files: tuple[FileEntry, ...]
    metadata: VersionMetadata
    complete: bool
    archives: tuple[ArchiveLayer, ...] = ()


def layer_type(path: str) -> str:
    """The ModelPack layer media type for one raw file, by what its name says it holds."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.startswith(("readme", "license", "licence", "notice")) or name.endswith((".md", ".rst")):
        role = "doc"
    elif name.endswith((".py", ".ipynb", ".sh")):
        role = "code"
    elif name.endswith((".json", ".yaml", ".yml", ".txt", ".model", ".tiktoken", ".vocab", ".merges")):
        role = "weight.config"
    else:
        role = "weight"
    return f"{_LAYER_PREFIX}{role}.v1.raw"


def build_config(name: str, version: int, files: Sequence[PublishedFile], metadata: VersionMetadata) -> bytes:
    """The config blob for one version: ModelPack's descriptor, an empty technical config, the layers' diffIds."""
    descriptor: dict[str, Any] = {"name": name, "version": str(version)}
    if metadata.published:
        descriptor["createdAt"] = metadata.published
    if metadata.family:
        descriptor["family"] = metadata.family
    if metadata.title:
        descriptor["title"] = metadata.title
    if metadata.licenses:
        descriptor["licenses"] = list(metadata.licenses)
    if metadata.source:
        descriptor["sourceURL"] = metadata.source
    config = {
        "descriptor": descriptor,
        "config": {},
        "modelfs": {"type": "layers", "diffIds": [f"sha256:{f.sha256}" for f in files]},
    }
    return _canonical(config)


def build_manifest(
    config_sha256: str, config_size: int, files: Sequence[PublishedFile], metadata: VersionMetadata, version: int
) -> bytes:
    """The manifest for one version; kmenv's metadata goes into ``org.kmenv.*`` annotations."""
    layers = [
        {
            "mediaType": layer_type(f.path),
            "digest": f"sha256:{f.sha256}",
            "size": f.size,
            # the title too, which ORAS clients name pulled files by, so `oras pull` rebuilds the folder
            "annotations": {FILEPATH: f.path, Annotations.TITLE: f.path},
        }
        for f in files
    ]
    annotations = {Annotations.VERSION: str(version)}
    for key, value in (
        (Annotations.HANDLE, metadata.handle),
        (Annotations.FRAMEWORK, metadata.framework),
        (Annotations.LICENSE, metadata.license),
        (Annotations.PUBLISHED, metadata.published),
        (Annotations.CREATED, metadata.published),
        (Annotations.TITLE, metadata.title),
        (Annotations.SOURCE, metadata.source),
    ):
        if value is not None:
            annotations[key] = value
    annotations[Annotations.REQUIRES] = json.dumps(dict(sorted(metadata.requires.items())), separators=(",", ":"))
    if metadata.base is not None:
        annotations[Annotations.BASE] = json.dumps({"handle": metadata.base[0], "versions": metadata.base[1]})
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": MODEL_ARTIFACT,
        "config": {"mediaType": CONFIG_TYPE, "digest": f"sha256:{config_sha256}", "size": config_size},
        "layers": layers,
        "annotations": annotations,
    }
    return _canonical(manifest)


def _canonical(value: object) -> bytes:
    """Stable bytes, so the same version always has the same digest (a second push changes nothing)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- reading ---------------------------------------------------------------------------------------------------------

_HINT_FOREIGN = "this repository holds something else; push models in ModelPack format (`kmenv mirror`, modctl)"
_HINT_REPUSH = "the artifact is malformed; push the version again with `kmenv mirror` or a ModelPack tool"


def parse_manifest(data: object, where: str) -> ParsedManifest:
    """Validate a decoded manifest of ``where`` (``repo:tag``) as a ModelPack model kmenv can install."""
    if not isinstance(data, dict):
        raise RegistryDocumentError(f"{where}: the manifest is not a JSON object", hint=_HINT_REPUSH)
    media = data.get("mediaType", MANIFEST_TYPE)
    if media != MANIFEST_TYPE or data.get("schemaVersion") != 2:
        raise RegistryDocumentError(
            f"{where}: not an OCI image manifest (mediaType {str(media)[:80]!r})", hint=_HINT_FOREIGN
        )
    config = data.get("config")
    if not isinstance(config, dict):
        raise RegistryDocumentError(f"{where}: the manifest has no config descriptor", hint=_HINT_REPUSH)
    artifact = data.get("artifactType") or config.get("mediaType")
    if artifact not in (MODEL_ARTIFACT, CONFIG_TYPE):
        raise RegistryDocumentError(
            f"{where}: not a ModelPack model (artifactType {str(artifact)[:80]!r}, expected {MODEL_ARTIFACT})",
            hint=_HINT_FOREIGN,
        )
    config_sha, config_size = _descriptor(config, f"{where}: config")
    layers = data.get("layers")
    if not isinstance(layers, list) or not layers or len(layers) > _MAX_LAYERS:
        raise RegistryDocumentError(f"{where}: the manifest lists no layers (or too many)", hint=_HINT_REPUSH)
    parsed = [_layer(layer, i, where) for i, layer in enumerate(layers)]
    files = tuple(sorted((f for f in parsed if isinstance(f, FileEntry)), key=lambda f: f.path))
    check_unique_paths(files, where)
    archives = tuple(a for a in parsed if isinstance(a, ArchiveLayer))
    annotations = data.get("annotations")
    metadata, complete = _metadata(annotations if isinstance(annotations, dict) else {}, where)
    return ParsedManifest(config_sha, config_size, files, metadata, complete, archives)


def check_unique_paths(files: Sequence[FileEntry], where: str) -> None:
    """Refuse two layers that put a file at the same path (``files`` sorted by path)."""
    for previous, current in itertools.pairwise(files):
        if previous.path == current.path:
            raise RegistryDocumentError(f"{where}: two layers claim the path {current.path!r}", hint=_HINT_REPUSH)


def _descriptor(value: dict[str, Any], what: str) -> tuple[str, int]:
    digest = value.get("digest")
    size = value.get("size")
    match = _SHA256_DIGEST.match(digest) if isinstance(digest, str) else None
    if match is None:
        raise RegistryDocumentError(
            f"{what}: digest {str(digest)[:80]!r} is not sha256:<64 hex digits>",
            hint="kmenv verifies files by sha256; push the artifact with sha256 digests",
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryDocumentError(f"{what}: size {str(size)[:40]!r} is not a byte count", hint=_HINT_REPUSH)
    return match.group(1), size


#: The tar compressions kmenv unpacks, by the suffix ModelPack gives them, as tarfile names them.
_TAR_COMPRESSIONS = {".tar": "", ".tar+gzip": "gz"}


def _layer(layer: object, index: int, where: str) -> FileEntry | ArchiveLayer:
    what = f"{where}: layer {index + 1}"
    if not isinstance(layer, dict):
        raise RegistryDocumentError(f"{what} is not a JSON object", hint=_HINT_REPUSH)
    sha, size = _descriptor(layer, what)
    media = layer.get("mediaType")
    annotations = layer.get("annotations")
    path = annotations.get(FILEPATH) if isinstance(annotations, dict) else None
    if isinstance(media, str) and media.startswith(_LAYER_PREFIX) and ".tar" in media:
        suffix = media[media.index(".tar") :]
        if suffix not in _TAR_COMPRESSIONS:
            raise RegistryDocumentError(
                f"{what} has media type {media[:80]!r}, a compression kmenv cannot unpack "
                "(it reads .raw, .tar and .tar+gzip layers)",
                hint="push the model with raw, plain tar or gzip tar layers (modctl build --raw, or no compression)",
            )
        folder = None if path in (None, ".", "./") else path
        if folder is not None and (not isinstance(folder, str) or relative_path_problem(folder.rstrip("/"))):
            raise RegistryDocumentError(f"{what}: path {str(folder)[:120]!r} is unsafe", hint=_HINT_REPUSH)
        return ArchiveLayer(sha, size, media, _TAR_COMPRESSIONS[suffix], folder and folder.rstrip("/"), index + 1)
    if not isinstance(media, str) or not media.startswith(_LAYER_PREFIX) or not media.endswith(".raw"):
        raise RegistryDocumentError(
            f"{what} has media type {str(media)[:80]!r}; kmenv installs raw and tar ModelPack layers",
            hint="push the model as ModelPack layers (`kmenv mirror`, or modctl)",
        )
    if not isinstance(path, str):
        raise RegistryDocumentError(
            f"{what} (sha256:{sha[:12]}) has no {FILEPATH} annotation, so kmenv cannot tell where the file goes",
            hint=f"push each layer with its path in the {FILEPATH} annotation",
        )
    problem = relative_path_problem(path)
    if problem is not None:
        raise RegistryDocumentError(f"{what}: path {path[:120]!r} is unsafe: {problem}", hint=_HINT_REPUSH)
    return FileEntry(path=path, size=size, sha256=sha)


def _metadata(annotations: dict[str, Any], where: str) -> tuple[VersionMetadata, bool]:
    def text(key: str) -> str | None:
        value = annotations.get(key)
        return value if isinstance(value, str) and value else None

    requires: dict[str, str] = {}
    raw_requires = text(Annotations.REQUIRES)
    if raw_requires is not None:
        decoded = _json(raw_requires, f"{where}: annotation {Annotations.REQUIRES}")
        if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
            raise RegistryDocumentError(
                f"{where}: annotation {Annotations.REQUIRES} is not an object of specifiers", hint=_HINT_REPUSH
            )
        try:
            requires = check_requires({str(k): v for k, v in decoded.items()})
        except ValueError as exc:
            raise RegistryDocumentError(
                f"{where}: annotation {Annotations.REQUIRES}: {exc}", hint=_HINT_REPUSH
            ) from None
    base = None
    raw_base = text(Annotations.BASE)
    if raw_base is not None:
        decoded = _json(raw_base, f"{where}: annotation {Annotations.BASE}")
        if not isinstance(decoded, dict) or not isinstance(decoded.get("handle"), str):
            raise RegistryDocumentError(f"{where}: annotation {Annotations.BASE} names no handle", hint=_HINT_REPUSH)
        versions = decoded.get("versions", "")
        base = (decoded["handle"], versions if isinstance(versions, str) else "")
    published = utc_timestamp(text(Annotations.PUBLISHED) or text(Annotations.CREATED))
    metadata = VersionMetadata(
        handle=text(Annotations.HANDLE),
        framework=text(Annotations.FRAMEWORK),
        license=text(Annotations.LICENSE),
        requires=requires,
        base=base,
        published=published,
        title=text(Annotations.TITLE),
        source=text(Annotations.SOURCE),
    )
    return metadata, Annotations.HANDLE in annotations


def _json(text: str, what: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise RegistryDocumentError(f"{what} is not valid JSON", hint=_HINT_REPUSH) from None


def config_metadata(data: object, where: str) -> VersionMetadata:
    """What a foreign artifact's config says: licences, creation date, title and family (lenient: all optional)."""
    descriptor = data.get("descriptor") if isinstance(data, dict) else None
    if not isinstance(descriptor, dict):
        raise RegistryDocumentError(f"{where}: the config has no descriptor object", hint=_HINT_REPUSH)
    licences = descriptor.get("licenses")
    listed = tuple(x for x in licences if isinstance(x, str)) if isinstance(licences, list) else ()
    created = descriptor.get("createdAt")
    title = descriptor.get("title") or descriptor.get("name")
    family = descriptor.get("family")
    return VersionMetadata(
        license=" AND ".join(listed) if listed else None,
        licenses=listed,
        published=utc_timestamp(created if isinstance(created, str) else None),
        title=title if isinstance(title, str) else None,
        family=family if isinstance(family, str) else None,
    )
