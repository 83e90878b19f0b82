"""The documents ``--json`` prints, one pydantic model per kind: the source of ``schemas/output/<kind>.schema.json``.

The command line builds its documents as plain data (it never imports these models, which cost a pydantic
import); the schemas are generated from the models, and a test runs every command and validates what it
printed against them, so a field added, renamed or dropped in one place fails until the other follows.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from kmenv.actions.cache import CacheInfo
from kmenv.actions.cache_export import CacheExport
from kmenv.actions.outputs import discovery, machine, project
from kmenv.actions.outputs._base import closed
from kmenv.actions.outputs.versions import VERSIONS
from kmenv.registry.static.build import BuildReport

__all__ = ["DOCUMENTS", "VERSIONS", "output_schema"]

#: kind → (the command line that prints it, its model: a pydantic model, or the dataclass whose fields the
#: document is, when it is exactly that).
DOCUMENTS: dict[str, tuple[str, type]] = {
    "cache-clean": ("kmenv cache clean --json", machine.CacheCleanDocument),
    "cache-export": ("kmenv cache export DIR --json, kmenv cache warm --json", CacheExport),
    "cache-info": ("kmenv cache info --json", CacheInfo),
    "cache-list": ("kmenv cache list --json", machine.CacheListDocument),
    "cache-verify": ("kmenv cache verify --json", machine.CacheVerifyDocument),
    "check": ("kmenv check --json (and --format json)", project.CheckDocument),
    "compare": ("kmenv compare HANDLE... --json", discovery.CompareDocument),
    "doctor": ("kmenv doctor --json", machine.DoctorDocument),
    "download": ("kmenv download HANDLE... --json", discovery.DownloadDocument),
    "env": ("kmenv env --json", project.EnvDocument),
    "error": ("any command with --json, when it fails", machine.ErrorDocument),
    "gc": ("kmenv gc --json, kmenv cache prune --json", machine.GcDocument),
    "history": ("kmenv history --json", project.HistoryDocument),
    "install": ("kmenv install --json", project.InstallDocument),
    "list": ("kmenv list --json", project.ListDocument),
    "lock": ("kmenv lock --json", project.LockDocument),
    "lock-check": ("kmenv lock --check --json", project.LockCheckDocument),
    "login": ("kmenv login --json", machine.LoginDocument),
    "mirror": ("kmenv mirror --to TARGET --json", discovery.MirrorDocument),
    "outdated": ("kmenv outdated --json", project.OutdatedDocument),
    "outdated-projects": ("kmenv outdated --all-projects --json", project.OutdatedProjectsDocument),
    "path": ("kmenv path NAME --json", project.PathDocument),
    "registry-build": ("kmenv registry build SOURCE OUT --json", BuildReport),
    "rollback": ("kmenv rollback --json", project.RollbackDocument),
    "search": ("kmenv search --json", discovery.SearchDocument),
    "show": ("kmenv show HANDLE --json", discovery.ShowDocument),
    "tree": ("kmenv tree --json", project.TreeDocument),
    "upgrade": ("kmenv upgrade --json", project.UpgradeDocument),
    "usage": ("kmenv usage --json", project.UsageDocument),
    "validate": ("kmenv validate --json", project.ValidateDocument),
    "validate-folder": ("kmenv validate DIR --json", project.ValidateFolderDocument),
    "versions": ("kmenv versions HANDLE --json", discovery.VersionsDocument),
    "versions-diff": ("kmenv versions HANDLE --diff A B --json", discovery.VersionsDiffDocument),
    "versions-files": ("kmenv versions HANDLE/N --files --json", discovery.VersionsFilesDocument),
    "whoami": ("kmenv whoami --json", machine.WhoamiDocument),
    "why": ("kmenv why NAME --json", project.WhyDocument),
}


def output_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind, its ``schema_version`` pinned to the kind's current version, described by the
    command line that prints it (then by the model's docstring, when it has one)."""
    command, model = DOCUMENTS[kind]
    schema: dict[str, Any] = TypeAdapter(model).json_schema(by_alias=True)
    schema["properties"]["schema_version"] = {"const": VERSIONS[kind], "type": "integer"}
    closed(schema)
    about = schema.get("description")
    schema["description"] = f"what `{command}` prints on stdout" + (f"\n\n{about}" if about else "")
    return schema
