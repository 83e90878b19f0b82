"""``kmenv mirror --to DIR|oci://HOST/NS``: copy the lock's model versions into a registry the team controls."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.cli.commands._common import add_connections, add_json
from kmenv.cli.ui import UI

if TYPE_CHECKING:
    from kmenv.actions.project import Project
    from kmenv.registry.oci.mirror import OciMirror

_EXAMPLES = """examples:
  kmenv mirror --to /srv/models --dry-run                # a static registry folder: what would be copied
  kmenv mirror --to oci://registry.example.com/models    # an OCI registry (ModelPack artifacts)
  kmenv mirror --to ./mirror --all-versions --json
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mirror",
        help="copy every model version in kmodels.lock into a registry folder or an OCI registry",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--to",
        required=True,
        metavar="DIR|URL",
        help="the mirror: a static registry folder, or oci://HOST[:PORT]/NAMESPACE (oci+http:// for plain HTTP)",
    )
    p.add_argument("--name", help="a folder mirror's own name, written into index.json (default: the folder's name)")
    p.add_argument(
        "--all-versions", action="store_true", help="every version of each locked instance, not only the locked one"
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be copied; fetch and write nothing")
    add_connections(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.mirror import MirrorTarget, mirror_lock
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.progress import CliReporter
    from kmenv.values.candidates import format_size
    from kmenv.values.wording import counted

    oci = args.to.startswith(("oci://", "oci+http://"))
    folder = None if oci else _folder(args.to)
    project = open_project(args, ui)
    target: MirrorTarget
    if oci:
        target = _oci_target(project, args.to)
    else:
        assert folder is not None
        from kmenv.registry.static.mirror import FolderMirror

        target = FolderMirror(folder, args.name or folder.name)
    reporter = CliReporter(ui)
    try:
        outcome = mirror_lock(
            project,
            project.open(),
            target,
            all_versions=args.all_versions,
            dry_run=args.dry_run,
            reporter=reporter,
            upload_progress=reporter.uploads,
        )
    finally:
        reporter.close()
        close = getattr(target, "close", None)
        if close is not None:
            close()
    if args.json:
        ui.emit_json("mirror", outcome.as_dict())
        return 0
    versions = counted(len(outcome.versions), "model version")
    files = counted(outcome.files, "file")
    if outcome.dry_run:
        ui.line(f"Would mirror {versions} ({files}, {format_size(outcome.total_bytes)}) to {outcome.target}:")
        for handle, version in outcome.versions:
            ui.line(f"  {handle}/{version}")
        ui.line(
            f"  download {format_size(outcome.to_fetch)} the cache lacks; write {format_size(outcome.to_write)} "
            f"({outcome.blobs_present} of {files} already there)"
        )
        return 0
    ui.line(
        f"Mirrored {versions} ({files}, {format_size(outcome.total_bytes)}) to {outcome.target}: "
        f"{outcome.blobs_written} written ({format_size(outcome.bytes_written)} copied), "
        f"{outcome.blobs_present} already there"
    )
    return 0


def _folder(to: str) -> Path:
    """The folder ``--to`` names (a path or ``file://`` URL); other URL schemes are refused."""
    from kmenv.errors import UsageError

    if "://" in to and not to.startswith("file://"):
        raise UsageError(
            f"--to {to}: mirroring supports a folder (or file:// URL) and oci:// or oci+http:// registries",
            hint="give a folder path (serve it with any HTTP server) or an OCI registry URL",
        )
    folder = Path(to.removeprefix("file://")).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--to {folder}: exists and is not a folder", hint="name a folder (it is created if missing)")
    return folder


def _oci_target(project: Project, url: str) -> OciMirror:
    """An OCI mirror at ``url``, with the user's logins and trusted CAs for its host; refused when offline."""
    from kmenv.errors import RegistryError
    from kmenv.registry.oci import open_client
    from kmenv.registry.oci.mirror import OciMirror

    if project.settings.offline:
        raise RegistryError(
            f"offline: the mirror {url} needs the network", hint="drop --offline / KMENV_OFFLINE to mirror"
        )
    client = open_client("mirror", url, settings=project.settings, pool_size=project.settings.max_workers)
    return OciMirror(client, project.store.blob_path, url=url)
