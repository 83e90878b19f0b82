"""``kmenv completion bash|zsh|fish``: a shell completion script, generated from the parser."""

from __future__ import annotations

import argparse

from kmenv.cli.commands._common import examples
from kmenv.cli.ui import UI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from kmenv.cli.completion import SHELLS

    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a completion script for commands, options and option values; load it from the "
        "shell's startup file or completion folder.",
        **examples(
            "kmenv completion bash > ~/.local/share/bash-completion/completions/kmenv",
            'kmenv completion zsh > "${fpath[1]}/_kmenv"',
            "kmenv completion fish > ~/.config/fish/completions/kmenv.fish",
        ),
    )
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.cli.completion import script

    ui.line(script(args.shell, args.parser).rstrip("\n"))
    return 0
