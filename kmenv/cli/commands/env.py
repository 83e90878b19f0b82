"""``kmenv env``: the variables ``kmenv run`` sets, as shell commands to ``eval`` (or JSON)."""

from __future__ import annotations

import argparse
import shlex

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI

SHELLS = ("sh", "fish", "powershell")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "env",
        help="print the KMENV_MODEL_<NAME> variables `kmenv run` sets, as shell exports",
        description="Print what `kmenv run` puts in a command's environment, for the installed environment as it "
        "is (nothing is installed): KMENV_PROJECT, KMENV_ENVIRONMENT and KMENV_MODEL_<NAME> per model.",
        **examples(
            'eval "$(kmenv env)"                   # sh, bash, zsh: export KMENV_MODEL_* here',
            "kmenv env --shell fish | source",
            "kmenv env --json | jq -r .variables.KMENV_PROJECT",
        ),
    )
    p.add_argument("--shell", choices=SHELLS, default="sh", help="the syntax to print (default: sh)")
    add_json(p)
    p.set_defaults(run=run)


def export_line(shell: str, name: str, value: str) -> str:
    """One assignment in ``shell``'s syntax, the value quoted so that any path survives."""
    if shell == "fish":
        return f"set -gx {name} '" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if shell == "powershell":
        return f"$env:{name} = '" + value.replace("'", "''") + "'"
    return f"export {name}={shlex.quote(value)}"


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.run_env import run_environment
    from kmenv.cli.commands.run import project_paths

    found = run_environment(*project_paths(args, ui, install=False))
    for note in found.collision_notes():
        ui.warn(note)
    if not found.models:
        ui.warn(f"no model is installed in {found.environment}; run `kmenv install`")
    if args.json:
        ui.emit_json("env", found.as_dict())
        return 0
    for name, value in found.variables.items():
        ui.line(export_line(args.shell, name, value))
    return 0
