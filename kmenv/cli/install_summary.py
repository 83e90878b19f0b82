"""The lines an install that switched the environment ends with, whichever path installed it.

``kmenv install`` prints them after the full path (:mod:`kmenv.cli.commands.install`) and after the warm one
(:mod:`kmenv.cli.fast`), which must not import the command modules: so they live here, importing little.
"""

from __future__ import annotations

from kmenv.values.wording import counted

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from kmenv.actions.cleanup_policy import Cleanup

__all__ = ["installed_lines"]


def installed_lines(
    count: int,
    chosen: str,
    environment: str,
    generation: int,
    *,
    fetched_files: int = 0,
    fetched_bytes: int = 0,
    cleanup: Cleanup | None = None,
) -> list[str]:
    """``Installed 3 models (with groups: eval) into … (generation 4, fetched 2 files, 1.0 MiB)``, then what the
    cleanup removed, if anything. ``chosen`` is :func:`kmenv.lockfile.groups.describe` of the groups installed."""
    fetched = ""
    if fetched_files:
        from kmenv.values.candidates import format_size

        fetched = f", fetched {counted(fetched_files, 'file')}, {format_size(fetched_bytes)}"
    which = f" ({chosen})" if chosen else ""
    lines = [f"Installed {counted(count, 'model')}{which} into {environment} (generation {generation}{fetched})"]
    summary = cleanup.summary if cleanup is not None else None
    if summary:
        lines.append(summary)
    return lines
