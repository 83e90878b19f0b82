"""One module per command; each has ``register(subparsers)`` and a ``run(args, ui) -> int``."""

from __future__ import annotations

from kmenv.cli.commands import (
    add,
    init,
    install,
    list_,
    lock,
    path,
    registry,
    remove,
    tree,
    why,
)

COMMANDS = (init, add, remove, lock, install, list_, tree, why, path, registry)

__all__ = ["COMMANDS"]
