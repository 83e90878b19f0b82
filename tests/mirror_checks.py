"""What a mirrored project must reproduce of its source, shared by the folder and OCI mirror tests."""

from __future__ import annotations

import json
from pathlib import Path

_SPEC = """\
version: 1
registries:
  kaggle:
{registry}
policy:
  licenses:
    allow: [Apache-2.0, MIT]
models:
  bert: keras/bert/keras/bert_tiny_en_uncased
  chat: acme/chat-llm/pyTorch/small-chat@<2
{more}"""


def kaggle_project(folder: Path, registry: str, *, more: str = "") -> Path:
    """A project of two Kaggle models (plus ``more`` lines of models) whose one registry is ``registry``
    (``"    type: kaggle"`` for the source, ``"    url: …"`` for a mirror)."""
    folder.mkdir()
    (folder / "kmodels.yaml").write_text(_SPEC.format(registry=registry, more=more))
    return folder


def locked_summary(project: Path) -> dict[str, object]:
    """Versions, files by sha256, licence, requirements, base and framework of every locked model
    (not Kaggle's md5s, which a mirror does not carry)."""
    models = json.loads((project / "kmodels.lock").read_text())["models"]
    return {
        name: (
            m["handle"],
            m["version"],
            m["registry"],
            sorted((f["path"], f["size"], f["sha256"]) for f in m["files"]),
            m["license"],
            m["requires"],
            m["base"],
            m["framework"],
        )
        for name, m in models.items()
    }
