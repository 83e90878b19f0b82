"""One module per command; each has ``register(subparsers)`` and a ``run(args, ui) -> int``."""

from __future__ import annotations

from kmenv.cli.commands import (
    add,
    cache,
    check,
    download,
    export,
    gc,
    history,
    init,
    install,
    list_,
    lock,
    outdated,
    path,
    registry,
    remove,
    rollback,
    search,
    show,
    tree,
    upgrade,
    usage,
    validate,
    versions,
    why,
)

COMMANDS = (
    init,
    add,
    remove,
    lock,
    install,
    list_,
    tree,
    why,
    path,
    registry,
    search,
    show,
    versions,
    download,
    outdated,
    upgrade,
    usage,
    history,
    check,
    export,
    validate,
    rollback,
    cache,
    gc,
)

__all__ = ["COMMANDS"]
