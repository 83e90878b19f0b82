"""What command modules share: the options several commands take, and opening the run's composition root.

A command builds its edges only through :func:`runtime` or :func:`open_project`, which hand
the UI's warning line to the edges, so ``--no-color`` applies to what they report.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kmenv.actions.project import Project, Runtime
    from kmenv.cli.ui import UI
    from kmenv.config import Settings

__all__ = [
    "add_connections",
    "add_dry_run",
    "add_json",
    "add_link_mode",
    "add_refresh",
    "examples",
    "open_project",
    "runtime",
    "settings",
]


def examples(*lines: str) -> dict[str, Any]:
    """``add_parser`` keywords for an ``examples:`` section under a command's ``--help``, kept as written."""
    return {
        "epilog": "examples:\n" + "\n".join(f"  {line}" for line in lines),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else there")


def add_dry_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="show the plan and delete nothing")


def add_refresh(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--refresh", action="store_true", help="ask Kaggle now instead of answering from its metadata cache"
    )


def add_link_mode(parser: argparse.ArgumentParser) -> None:
    from kmenv.config import LINK_MODES

    parser.add_argument("--link-mode", choices=list(LINK_MODES), help="how files enter the environment")


def add_connections(parser: argparse.ArgumentParser) -> None:
    """``--connections N`` on the commands that download (the setting ``KMENV_CONNECTIONS`` also sets)."""
    parser.add_argument(
        "--connections",
        metavar="N",
        help="at most N parallel byte ranges for one large file, 1 to 64 (1: never split; default 16, or "
        "KMENV_CONNECTIONS)",
    )


def settings(args: argparse.Namespace) -> Settings:
    """Run settings from global options and ``KMENV_*`` variables (an option wins over its variable)."""
    from kmenv.config import Settings, max_connections
    from kmenv.fetch.tuning import for_run

    flag = getattr(args, "connections", None)
    connections = None if flag is None else max_connections(flag, source="--connections")
    for_run(connections)
    return Settings.load(
        cache_dir=args.cache_dir,
        offline=args.offline,
        link_mode=getattr(args, "link_mode", None),
        connections=connections,
    )


def runtime(args: argparse.Namespace, ui: UI) -> Runtime:
    """The run's settings and machine-wide edges (store, usage ledger), for commands without a project."""
    from kmenv.actions.project import Runtime

    return Runtime(settings(args), warn=ui.warn, refresh=getattr(args, "refresh", False), notice=ui.note)


def open_project(args: argparse.Namespace, ui: UI) -> Project:
    """The project named by ``-C`` or found upward from the working directory, with this run's edges.

    Project files the run has read already (the no-op check of ``install``) are not read again.
    """
    from kmenv.actions.project import Project

    return Project.find(
        args.project,
        explicit=args.project is not None,
        settings=settings(args),
        warn=ui.warn,
        read_ahead=getattr(args, "read_ahead", None),
        refresh=getattr(args, "refresh", False),
        notice=ui.note,
    )
