"""``kmenv validate [--repair]``: check the environment against the lock; ``kmenv validate DIR``: check download
folders against their manifests. Exit 6 on damage."""

from __future__ import annotations

import argparse
from pathlib import Path

from kmenv.cli.commands._common import add_json, examples
from kmenv.cli.ui import UI
from kmenv.values.wording import counted

_SHOWN = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate",
        help="check installed files against the lock, or a download folder against its manifest",
        **examples(
            "kmenv validate",
            "kmenv validate --repair",
            "kmenv validate ./models            # folders `kmenv download` wrote",
        ),
    )
    p.add_argument(
        "folder",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="a folder written by `kmenv download` (or one above several)",
    )
    p.add_argument("--repair", action="store_true", help="rebuild a clean generation from the store (re-downloading)")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from kmenv.actions.validate import validate_project
    from kmenv.cli.commands._common import open_project
    from kmenv.cli.progress import CliReporter
    from kmenv.errors import EXIT_INTEGRITY
    from kmenv.values.candidates import format_size

    if args.folder is not None:
        return _run_folder(args, ui)
    project = open_project(args, ui)
    reporter = CliReporter(ui)
    try:
        validation = validate_project(project, repair=args.repair, reporter=reporter)
    finally:
        reporter.close()
    report, repaired = validation.report, validation.repaired
    if args.json:
        ui.emit_json("validate", {**report.to_dict(), "repaired": repaired.to_dict() if repaired is not None else None})
    else:
        where = f"{project.env_path} (generation {report.generation})"
        if report.ok:
            ui.line(f"{where}: {counted(report.files, 'file')}, {format_size(report.bytes)}, all match the lock")
        else:
            ui.line(f"{where}: {counted(len(report.problems), 'problem')}")
            for damage in report.problems[:_SHOWN]:
                ui.line(f"  {damage.render()}")
            if len(report.problems) > _SHOWN:
                ui.line(f"  … and {len(report.problems) - _SHOWN} more (--json lists all)")
        if repaired is not None:
            fetched = f", re-fetched {counted(repaired.fetched_files, 'file')}" if repaired.fetched_files else ""
            ui.line(f"Repaired: generation {repaired.generation} is in use{fetched}")
            for line in repaired.mended:
                ui.line(f"  mended {line}")
            for line in repaired.left:
                ui.warn(f"cannot mend {line}: its blob is no longer in the store (`kmenv gc --keep 1` drops it)")
    if validation.ok:
        return 0
    if repaired is None:
        if validation.rolled_back_from is not None:
            ui.warn(
                f"the environment was rolled back from generation {validation.rolled_back_from}: "
                "kmodels.lock describes newer models"
            )
        ui.warn("the environment does not match kmodels.lock; `kmenv validate --repair` rebuilds it")
    return EXIT_INTEGRITY


def _run_folder(args: argparse.Namespace, ui: UI) -> int:
    """``kmenv validate DIR``: every manifest at or below DIR, its files' sizes and sha256s."""
    from kmenv.actions.validate_folder import validate_folders
    from kmenv.cli.commands._common import settings
    from kmenv.errors import EXIT_INTEGRITY, UsageError
    from kmenv.values.candidates import format_size

    if args.repair:
        raise UsageError(
            "--repair rebuilds a project's environment, not a download folder",
            hint=f"download it again: kmenv download HANDLE --path {args.folder}",
        )
    result = validate_folders(args.folder, workers=settings(args).max_workers)
    if args.json:
        ui.emit_json("validate-folder", result.to_dict())
        return 0 if result.ok else EXIT_INTEGRITY
    for report in result.folders:
        shown = args.folder / report.folder.relative_to(result.root)  # as the user wrote DIR
        count = counted(report.files, "file")
        if report.ok:
            ui.line(f"{shown}: {report.handle}, {count}, {format_size(report.bytes)}, all match the manifest")
            continue
        problems = counted(len(report.problems), "problem")
        ui.line(f"{shown}: {report.handle}, {problems}")
        for damage in report.problems[:_SHOWN]:
            ui.line(f"  {damage.render()}")
        if len(report.problems) > _SHOWN:
            ui.line(f"  … and {len(report.problems) - _SHOWN} more (--json lists all)")
    if result.ok:
        return 0
    ui.warn("a download folder does not match its manifest; download it again to restore it")
    return EXIT_INTEGRITY
