"""Helpers for the OCI tests: model folders, pushing with kmenv's push API, and pushing by hand.

``push_by_hand`` speaks the distribution API with plain ``urllib`` calls written here, not with kmenv's
code, so kmenv is shown to read an artifact another tool made. It can also make artifacts that break
the rules on purpose (another artifactType, no filepath annotation, a path leaving the folder).
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kmenv.config import Settings
from kmenv.registry.oci import open_client
from kmenv.registry.oci.modelpack import VersionMetadata
from kmenv.registry.oci.push import PushResult, push_folder
from kmenv.values.handles import Handle


def write_model(folder: Path, files: Mapping[str, bytes]) -> Path:
    """A folder holding ``files`` (path → bytes)."""
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def files_of(version: int, tag: str = "") -> dict[str, bytes]:
    """A small model version whose bytes differ from version to version."""
    return {
        "config.json": json.dumps({"version": version, "tag": tag}).encode(),
        "weights/model.safetensors": bytes([version % 256]) * (4096 + version) + tag.encode(),
        "README.md": f"# tiny model v{version}\n".encode(),
    }


def push_with_kmenv(
    url: str,
    handle: str,
    version: int,
    folder: Path,
    *,
    license: str | None = "Apache 2.0",
    requires: Mapping[str, str] | None = None,
    base: tuple[str, str] | None = None,
) -> PushResult:
    """Push ``folder`` as ``handle`` version ``version`` through kmenv's push API."""
    metadata = VersionMetadata(
        license=license,
        licenses=("Apache-2.0",) if license == "Apache 2.0" else (),
        requires=dict(requires or {}),
        base=base,
        published=f"2024-0{min(version, 9)}-01T00:00:00Z",
        title="Tiny test model",
        source=f"test:{handle}/{version}",
    )
    client = open_client("push", url, settings=Settings.load())
    try:
        return push_folder(client, Handle.parse(handle), version, folder, metadata)
    finally:
        client.close()


# --- pushing by hand --------------------------------------------------------------------------------------------


def _call(method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    return urllib.request.urlopen(request, timeout=30)


def upload_blob(base: str, repository: str, data: bytes) -> str:
    """POST then PUT one blob; its digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with _call("POST", f"{base}/v2/{repository}/blobs/uploads/") as answer:
        location = answer.headers["Location"]
    if location.startswith("/"):
        location = base + location
    separator = "&" if "?" in location else "?"
    headers = {"Content-Type": "application/octet-stream"}
    with _call("PUT", f"{location}{separator}digest={digest}", data, headers) as answer:
        assert answer.status == 201
    return digest


def push_by_hand(
    base: str,
    repository: str,
    tag: str,
    files: Mapping[str, bytes],
    *,
    artifact_type: str = "application/vnd.cncf.model.manifest.v1+json",
    paths: Mapping[str, str | None] | None = None,
    licenses: tuple[str, ...] = ("MIT",),
) -> str:
    """A ModelPack artifact made with urllib only; ``paths`` overrides (or with None drops) a file's annotation.

    Returns the manifest's digest.
    """
    layers = []
    for name, data in files.items():
        digest = upload_blob(base, repository, data)
        path = (paths or {}).get(name, name)
        layer: dict[str, Any] = {
            "mediaType": "application/vnd.cncf.model.weight.v1.raw",
            "digest": digest,
            "size": len(data),
        }
        if path is not None:
            layer["annotations"] = {"org.cncf.model.filepath": path}
        layers.append(layer)
    config = json.dumps(
        {
            "descriptor": {"name": repository, "licenses": list(licenses), "createdAt": "2025-03-04T05:06:07+02:00"},
            "config": {"format": "safetensors"},
            "modelfs": {"type": "layers", "diffIds": [layer["digest"] for layer in layers]},
        }
    ).encode()
    config_digest = upload_blob(base, repository, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": {
            "mediaType": "application/vnd.cncf.model.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": layers,
    }
    body = json.dumps(manifest).encode()
    headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    with _call("PUT", f"{base}/v2/{repository}/manifests/{tag}", body, headers) as answer:
        assert answer.status == 201
    return "sha256:" + hashlib.sha256(body).hexdigest()


def b64(text: str) -> str:
    """What credential files store: base64 of ``user:password``."""
    import base64

    return base64.b64encode(text.encode()).decode()
