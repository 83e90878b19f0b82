"""What the discovery commands (search, show, versions, compare) share: ``--registry`` and opening the sources."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmenv.cli.ui import UI
    from kmenv.registry.base import Registry

__all__ = ["add_registry", "sources"]


def add_registry(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        metavar="NAME",
        help="ask only this registry: a name kmodels.yaml declares, `kaggle`, or a static registry's folder/URL "
        "(default: the project's registries, or Kaggle outside a project)",
    )


def sources(args: argparse.Namespace, ui: UI) -> list[Registry]:
    """The registries this run's discovery command asks, in order."""
    from kmenv.actions.discovery import open_sources
    from kmenv.cli.commands._common import runtime

    return open_sources(
        runtime(args, ui),
        args.project,
        explicit=args.project is not None,
        choice=args.registry,
        refresh=args.refresh,
    )
