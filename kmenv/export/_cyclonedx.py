"""A CycloneDX 1.6 JSON bill of materials of the locked models.

Each locked model is a ``machine-learning-model`` component with its version, licence (as
published, ``acknowledgement: declared``; or as clarified by the policy, ``concluded``), the
file hashes (each file a nested ``file`` component; a one-file model also carries the hash
itself), the source URL, and a dependency on its base model. Output is deterministic: the serial
number is derived from the lock's content and no timestamp is written.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from kmenv.lockfile.document import LockedModel, LockFile, dumps_lock
from kmenv.policy.base import LicencePolicy
from kmenv.values.urls import without_userinfo

__all__ = ["cyclonedx_bom", "render_cyclonedx"]

_KAGGLE_MODELS = "https://www.kaggle.com/models"


def _ref(name: str) -> str:
    return f"kmenv-model:{name}"


def _source_url(lock: LockFile, model: LockedModel) -> str | None:
    registry = lock.inputs.registries.get(model.registry)
    if registry is None:
        return None
    if registry.type == "kaggle":
        return f"{_KAGGLE_MODELS}/{model.handle}/{model.version}"
    if registry.url:  # a lock written before logins were dropped from URLs may still hold one
        return f"{without_userinfo(registry.url).rstrip('/')}/models/{model.handle}.json"
    return None


def _spdx_ids() -> frozenset[str]:
    from kmenv.policy.table import _spdx_index

    return frozenset(e["spdx_license_key"] for e in _spdx_index() if not e.get("is_exception"))


def _licences(published: str | None, expression: str | None, clarified: bool) -> list[dict[str, Any]]:
    acknowledgement = "concluded" if clarified else "declared"
    if expression is None:
        if not published:
            return []
        return [{"license": {"name": published, "acknowledgement": acknowledgement}}]
    if expression in _spdx_ids():
        return [{"license": {"id": expression, "acknowledgement": acknowledgement}}]
    if " " not in expression:
        return [{"license": {"name": published or expression, "acknowledgement": acknowledgement}}]
    return [{"expression": expression, "acknowledgement": acknowledgement}]


def _component(lock: LockFile, name: str, model: LockedModel, policy: LicencePolicy | None) -> dict[str, Any]:
    expression = model.license.spdx
    clarified = False
    if policy is not None:
        verdict = policy.evaluate(name, model.full_handle, model.license.published)
        expression, clarified = verdict.spdx or expression, verdict.clarified
    files = [
        {
            "type": "file",
            "bom-ref": f"{_ref(name)}/{f.path}",
            "name": f.path,
            "hashes": [{"alg": "SHA-256", "content": f.sha256}],
        }
        for f in model.files
    ]
    component: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": _ref(name),
        "group": model.handle.split("/")[0],
        "name": model.handle,
        "version": str(model.version),
        "scope": "required",
        "licenses": _licences(model.license.published, expression, clarified),
        "properties": [
            {"name": "kmenv:name", "value": name},
            {"name": "kmenv:framework", "value": model.framework},
            {"name": "kmenv:registry", "value": model.registry},
            {"name": "kmenv:direct", "value": "true" if model.direct else "false"},
            *({"name": "kmenv:group", "value": g} for g in model.groups if model.groups != ["default"]),
            *({"name": f"kmenv:requires:{lib}", "value": spec} for lib, spec in sorted(model.requires.items())),
        ],
        "components": files,
    }
    if len(model.files) == 1:
        component["hashes"] = [{"alg": "SHA-256", "content": model.files[0].sha256}]
    url = _source_url(lock, model)
    if url is not None:
        component["externalReferences"] = [{"type": "distribution", "url": url}]
    if not component["licenses"]:
        del component["licenses"]
    return component


def cyclonedx_bom(lock: LockFile, *, project: str = "project", policy: LicencePolicy | None = None) -> dict[str, Any]:
    """The BOM as plain data; ``policy`` (when given) supplies clarified licences."""
    from kmenv._version import __version__

    serial = uuid.uuid5(uuid.NAMESPACE_URL, "kmenv-lock:" + dumps_lock(lock))
    root = "kmenv-project"
    components = [_component(lock, name, model, policy) for name, model in sorted(lock.models.items())]
    dependencies = [{"ref": root, "dependsOn": sorted(_ref(n) for n, m in lock.models.items() if m.direct)}]
    dependencies += [
        {"ref": _ref(name), "dependsOn": [_ref(model.base)] if model.base else []}
        for name, model in sorted(lock.models.items())
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial.urn,
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "kmenv", "version": __version__}]},
            "component": {"type": "application", "bom-ref": root, "name": project},
        },
        "components": components,
        "dependencies": dependencies,
    }


def render_cyclonedx(lock: LockFile, *, project: str = "project", policy: LicencePolicy | None = None) -> str:
    return json.dumps(cyclonedx_bom(lock, project=project, policy=policy), indent=2, ensure_ascii=False) + "\n"
