"""Pieces shared by command modules: opening the project, common options, install summaries."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmenv.actions.project import Project
    from kmenv.config import Settings

__all__ = ["add_json", "open_project"]


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else there")


def settings(args: argparse.Namespace) -> Settings:
    """Run settings from global options and ``KMENV_*`` variables."""
    from kmenv.config import Settings

    return Settings.load(cache_dir=args.cache_dir, offline=args.offline, link_mode=getattr(args, "link_mode", None))


def open_project(args: argparse.Namespace) -> Project:
    """The project named by ``-C`` or found upward from the working directory."""
    from kmenv.actions.project import Project

    return Project.find(args.project, explicit=args.project is not None, settings=settings(args))
