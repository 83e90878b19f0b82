"""What a mirrored project must reproduce of its source, shared by the folder and OCI mirror tests."""

from __future__ import annotations

import json
from pathlib import Path


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
