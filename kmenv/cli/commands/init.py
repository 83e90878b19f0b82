"""``kmenv init``: write a commented starter kmodels.yaml."""

from __future__ import annotations

import argparse
from pathlib import Path

from kmenv.cli.commands._common import examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init",
        help="create a commented kmodels.yaml here (or in -C DIR)",
        **examples("kmenv init", "kmenv init --registry ../registry", "kmenv -C new-project init --force"),
    )
    p.add_argument("--registry", metavar="URL", help="use a static registry (path or URL) as the default registry")
    p.add_argument("--force", action="store_true", help="overwrite an existing kmodels.yaml")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.environment.layout import SPEC_FILENAME
    from kmenv.errors import UsageError
    from kmenv.fs.atomic import write_atomic
    from kmenv.spec.edit import starter_text

    folder = Path(args.project or ".").expanduser().absolute()
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", hint="create it first, or pass an existing folder to -C")
    target = folder / SPEC_FILENAME
    if target.exists() and not args.force:
        raise UsageError(f"{target} already exists", hint="edit it, or pass --force to start over")
    write_atomic(target, starter_text(args.registry))
    ui.line(f"Created {target}")
    ui.note("next: `kmenv add OWNER/MODEL/FRAMEWORK/VARIATION`, then `kmenv install`")
    return 0
