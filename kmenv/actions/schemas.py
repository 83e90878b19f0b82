"""JSON Schemas of kmenv's files, generated from the pydantic models that read them, and of every ``--json``
document (``schemas/output/``, from :mod:`kmenv.actions.outputs`).

``python -m kmenv.actions.schemas`` rewrites ``schemas/``; a test fails when the committed files drift.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kmenv.fs.atomic import write_atomic

__all__ = ["OUTPUT_FOLDER", "SCHEMAS", "default_folder", "render", "write_all"]


def _spec() -> dict[str, Any]:
    from kmenv.spec.document import ProjectSpec

    return ProjectSpec.model_json_schema(by_alias=True)


def _lock() -> dict[str, Any]:
    from kmenv.lockfile.document import LockFile

    return LockFile.model_json_schema(by_alias=True)


def _index() -> dict[str, Any]:
    from kmenv.registry.static.documents import RegistryIndex

    return RegistryIndex.model_json_schema(by_alias=True)


def _instance() -> dict[str, Any]:
    from kmenv.registry.static.documents import InstanceDocument

    return InstanceDocument.model_json_schema(by_alias=True)


def _download() -> dict[str, Any]:
    from kmenv.actions.download_manifest import ManifestDocument

    return ManifestDocument.model_json_schema(by_alias=True)


def _outputs() -> dict[str, tuple[str, Callable[[], dict[str, Any]]]]:
    """``output/<kind>.schema.json`` for every document ``--json`` prints."""
    from kmenv.actions.outputs import DOCUMENTS, output_schema

    def build(kind: str) -> Callable[[], dict[str, Any]]:
        return lambda: output_schema(kind)

    return {
        f"{OUTPUT_FOLDER}/{kind}.schema.json": (f"what `{command}` prints on stdout", build(kind))  # refined there
        for kind, (command, _) in DOCUMENTS.items()
    }


#: The subfolder of ``schemas/`` holding the output documents' schemas.
OUTPUT_FOLDER = "output"

SCHEMAS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "kmodels.schema.json": ("kmodels.yaml, the project's declaration", _spec),
    "kmodels-lock.schema.json": ("kmodels.lock, the resolved and hashed result", _lock),
    "registry-index.schema.json": ("index.json of a static registry", _index),
    "registry-instance.schema.json": ("one model instance document of a static registry", _instance),
    "kmenv-download.schema.json": (".kmenv-download.json, the manifest kmenv download leaves in a folder", _download),
    **_outputs(),
}


def render(filename: str) -> str:
    """The schema text for one file name in :data:`SCHEMAS`."""
    title, build = SCHEMAS[filename]
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "description": title, **build()}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def default_folder() -> Path:
    """The repository's ``schemas/`` folder, beside the ``kmenv`` package in a source checkout."""
    return Path(__file__).resolve().parents[2] / "schemas"


def write_all(folder: Path) -> list[Path]:
    """Every schema into ``folder``; output schemas of kinds that no longer exist are removed."""
    (folder / OUTPUT_FOLDER).mkdir(parents=True, exist_ok=True)
    written = []
    for filename in SCHEMAS:
        target = folder / filename
        write_atomic(target, render(filename))
        written.append(target)
    for stale in set((folder / OUTPUT_FOLDER).glob("*.schema.json")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else default_folder()
    for path in write_all(out):
        print(path)
