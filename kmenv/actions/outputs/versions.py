"""The version of each ``--json`` document's shape, by kind; every document carries it as ``schema_version``.

A kind's number rises when one of its fields is removed, renamed or changes meaning; a new field may appear
without a rise. Kept free of imports: the command line reads it on every ``--json`` run, errors included.
"""

from __future__ import annotations

__all__ = ["VERSIONS"]

#: kind → version. The kinds name the files ``schemas/output/<kind>.schema.json``.
VERSIONS: dict[str, int] = {
    "cache-clean": 1,
    "cache-export": 1,
    "cache-info": 1,
    "cache-list": 1,
    "cache-verify": 1,
    "check": 2,
    "compare": 1,
    "doctor": 1,
    "download": 1,
    "env": 1,
    "error": 1,
    "gc": 1,
    "history": 1,
    "install": 1,
    "list": 1,
    "lock": 1,
    "lock-check": 1,
    "login": 1,
    "mirror": 1,
    "outdated": 1,
    "outdated-projects": 1,
    "path": 1,
    "registry-build": 1,
    "rollback": 1,
    "search": 1,
    "show": 1,
    "tree": 1,
    "upgrade": 1,
    "usage": 1,
    "validate": 1,
    "validate-folder": 1,
    "versions": 1,
    "versions-diff": 1,
    "versions-files": 1,
    "whoami": 1,
    "why": 1,
}
