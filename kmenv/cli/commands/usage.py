"""``kmenv usage``: per model across projects: installs, uses, last use, disk held, bytes downloaded, throughput."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from kmenv.actions.usage import SORT_FIELDS

    p = sub.add_parser(
        "usage",
        help="how each model is used across projects (from the usage ledger)",
        **examples("kmenv usage", "kmenv usage --since 30d --sort disk", "kmenv usage --json"),
    )
    p.add_argument("--since", metavar="AGE", help="count events of the last AGE only: 90m, 12h, 30d, 2w")
    p.add_argument(
        "--project", dest="only_project", metavar="DIR", help="only this project (default: every known project)"
    )
    # the global -C shares its long name with --project above, so argparse would not add it here: add it
    # explicitly, keeping a value given before the command (``kmenv -C DIR usage``); it names the project too
    p.add_argument("-C", dest="project", metavar="DIR", default=argparse.SUPPRESS, help="same as --project DIR")
    p.add_argument("--sort", choices=SORT_FIELDS, default="uses", help="order of the rows (default: uses)")
    add_json(p)
    p.set_defaults(run=run)


def when(stamp: float | None) -> str:
    """A UNIX time as local ``YYYY-MM-DD HH:MM``; ``never`` for None."""
    import time

    return "never" if stamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _project_folder(text: str) -> str:
    """The project folder at or above ``text``; a project that no longer exists is named by its absolute path."""
    from pathlib import Path

    from kmenv.environment.layout import find_project_dir
    from kmenv.errors import ProjectNotFoundError

    try:
        return str(find_project_dir(text))
    except ProjectNotFoundError:
        return str(Path(text).expanduser().absolute())


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.usage import now, parse_age, usage_report
    from kmenv.cli.commands._common import runtime
    from kmenv.values.candidates import format_size

    since = now() - parse_age(args.since) if args.since else None
    wanted = args.only_project or args.project
    chosen = _project_folder(wanted) if wanted else None
    run = runtime(args, ui)
    rows = usage_report(run, since=since, project=chosen, sort=args.sort)
    if args.json:
        from kmenv.values.times import utc_time

        document = {"since": utc_time(since), "project": chosen, "models": [r.as_dict() for r in rows]}
        ui.emit_json("usage", document)
        return 0
    if not run.settings.ledger:
        ui.warn("KMENV_NO_LEDGER is set: nothing is being recorded")
    if not rows:
        ui.line("No usage recorded yet: installs and `kmenv.path()` calls are recorded as they happen.")
        return 0
    ui.table(
        ["model", "names", "projects", "installs", "uses", "last used", "disk", "downloaded", "throughput"],
        [
            [
                r.handle,
                ",".join(r.names),
                str(r.projects),
                str(r.installs),
                str(r.uses),
                when(r.last_used),
                format_size(r.disk),
                format_size(r.downloaded),
                "-" if r.throughput is None else f"{format_size(int(r.throughput))}/s",
            ]
            for r in rows
        ],
        right=("projects", "installs", "uses", "disk", "downloaded", "throughput"),
    )
    return 0
