"""``kmenv login``: store a Kaggle username and key in the ``kaggle.json`` the kaggle CLI and kagglehub read."""

from __future__ import annotations

import argparse
import json
import sys

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI
from kmenv.errors import UsageError

_MAX_KEY_FILE = 64 * 1024


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "login",
        help="check a Kaggle username and key with Kaggle, then write them to kaggle.json (mode 600)",
        **examples(
            "kmenv login                                   # asks for the username and key",
            "kmenv login --key-file ~/Downloads/kaggle.json",
            'printf %s "$KEY" | kmenv login --username alice',
        ),
    )
    p.add_argument("--username", help="your Kaggle username (asked for when missing)")
    p.add_argument(
        "--key-file",
        metavar="PATH",
        help="a file holding the key, or the kaggle.json downloaded from your Kaggle settings; - reads stdin",
    )
    p.add_argument("--no-verify", action="store_true", help="write the file without asking Kaggle first")
    add_json(p)
    p.set_defaults(run=run)


def _read_key_source(path: str) -> str:
    if path == "-":
        return sys.stdin.read(_MAX_KEY_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(_MAX_KEY_FILE)
    except OSError as exc:
        raise UsageError(f"cannot read --key-file {path}: {exc.strerror}", hint="give the path of the key") from None


def _split(text: str, username: str | None) -> tuple[str | None, str]:
    """A kaggle.json's username and key, or the text itself as the key."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise UsageError(
                "the key file is not valid JSON", hint="give kaggle.json or a file with the key alone"
            ) from None
        if not isinstance(data, dict) or not data.get("key"):
            raise UsageError("the key file has no 'key'", hint="download a fresh kaggle.json from your Kaggle settings")
        return username or (str(data["username"]) if data.get("username") else None), str(data["key"])
    return username, stripped


def run(args: argparse.Namespace, ui: UI) -> int:
    import getpass

    from kmenv.actions.account import login
    from kmenv.cli.commands._common import runtime

    username: str | None = args.username
    if args.key_file:
        username, key = _split(_read_key_source(args.key_file), username)
    elif not sys.stdin.isatty():
        username, key = _split(sys.stdin.read(_MAX_KEY_FILE), username)
    else:
        username = username or input("Kaggle username: ").strip()
        key = getpass.getpass("Kaggle API key (not shown): ")
    if not username:
        raise UsageError("no Kaggle username given", hint="pass --username NAME")
    done = login(runtime(args, ui), username, key, verify=not args.no_verify)
    if args.json:
        ui.emit_json("login", done.as_dict())
        return 0
    checked = "checked with Kaggle" if done.verified else "not checked (--no-verify)"
    ui.line(f"Signed in as {done.user}: wrote {done.path} (mode 600; {checked})")
    return 0
